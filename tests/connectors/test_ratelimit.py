"""The submits-per-second cap."""

from __future__ import annotations

import asyncio
import time

import pytest

from smsplatform.connectors.ratelimit import TokenBucket


async def test_spacing_over_a_window() -> None:
    bucket = TokenBucket(200)  # burst of 4
    started = time.monotonic()
    await asyncio.gather(*(bucket.take() for _ in range(44)))
    # 4 pass at once, the other 40 are 5 ms apart: at least 0.2 s.
    assert time.monotonic() - started >= 0.19


async def test_burst_passes_at_once() -> None:
    bucket = TokenBucket(10, burst=10)
    started = time.monotonic()
    for _ in range(10):
        await bucket.take()
    # Spaced at the rate, ten would take 0.9 s; the burst lets them through at once.
    assert time.monotonic() - started < 0.5


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
