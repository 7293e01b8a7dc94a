"""Reconnect pacing."""

from __future__ import annotations

from smsplatform.connectors.link import backoff_delay


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    for failures, low, high in [(0, 0.5, 1.0), (1, 1.0, 2.0), (3, 4.0, 8.0), (10, 15.0, 30.0)]:
        delays = [backoff_delay(failures, 1.0, 30.0) for _ in range(50)]
        assert all(low <= d <= high for d in delays)
        assert len(set(delays)) > 1  # jittered
