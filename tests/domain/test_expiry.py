"""Maximum ages by kind, with a sub-account's overrides, and lengths of time as operators write them."""

from __future__ import annotations

import pytest

from smsplatform.domain.expiry import DEFAULT_MAX_AGES, MaxAges, parse_seconds


def test_the_defaults_are_ten_minutes_for_codes_and_a_day_for_the_rest() -> None:
    assert [DEFAULT_MAX_AGES.of(kind) for kind in ("verification", "notification", "marketing")] == [
        600,
        86400,
        86400,
    ]


def test_a_sub_accounts_override_wins_for_its_kind_only() -> None:
    ages = MaxAges(verification=300, notification=3600, marketing=7200)
    overrides = {"verification": 120, "marketing": 0}  # 0 (never stored by the operations) is ignored
    assert [ages.of(kind, overrides) for kind in ("verification", "notification", "marketing")] == [
        120,
        3600,
        7200,
    ]
    assert ages.of("something else") == 7200  # never stored: the longest, not an instant failure


@pytest.mark.parametrize(("raw", "seconds"), [("600", 600), (" 10m ", 600), ("24H", 86400), ("1d", 86400)])
def test_lengths_of_time(raw: str, seconds: int) -> None:
    assert parse_seconds(raw) == seconds


@pytest.mark.parametrize("raw", ["", "m", "soon", "-5", "0", "1.5h", "１０", "366d"])
def test_what_is_not_a_length_of_time(raw: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        parse_seconds(raw)
