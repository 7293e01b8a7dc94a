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


class Budget:
    """A platform-wide budget that grants every batch asked for, or cannot be reached."""

    def __init__(self, *, reachable: bool = True) -> None:
        self.batch = 5
        self.local_rate = 100.0
        self.reachable = reachable
        self.calls = 0

    async def take(self, wanted: int) -> tuple[int, float] | None:
        self.calls += 1
        await asyncio.sleep(0)
        return (wanted, 0.0) if self.reachable else None


async def test_a_shared_budget_is_asked_once_per_batch_not_per_submit() -> None:
    budget = Budget()
    bucket = TokenBucket(1_000, budget=budget)
    await asyncio.gather(*(bucket.take() for _ in range(50)))
    assert budget.calls == 10


async def test_an_unreachable_budget_paces_the_link_at_its_local_share() -> None:
    budget = Budget(reachable=False)
    bucket = TokenBucket(1_000, budget=budget)
    started = time.monotonic()
    await asyncio.gather(*(bucket.take() for _ in range(21)))
    # At the local share (100/s), not the connector's 1,000/s (0.02 s): 20 intervals of 10 ms less a
    # burst of 2; and the budget is not asked again within the second it was found away.
    assert time.monotonic() - started >= 0.18
    assert budget.calls == 1
