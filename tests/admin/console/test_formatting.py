"""How figures read on the pages."""

from __future__ import annotations

from smsplatform.admin.console.formatting import duration_ms, duration_s, percent


def test_durations_claim_no_more_precision_than_the_store_keeps() -> None:
    # Times are kept to the second: an interpolated median of 50 ms would be invented.
    assert duration_ms(50.0) == "< 1 s"
    assert duration_ms(0.0) == "< 1 s"
    assert duration_ms(1500.0) == "1.5 s"
    assert duration_ms(180_000.0) == "3.0 min"
    assert duration_ms(None) == "–"
    assert duration_s(7200) == "2.0 h"


def test_shares_read_as_percentages() -> None:
    assert percent(0.987) == "98.7%"
    assert percent(None) == "–"
