"""The submits-per-second cap of one link, alone or as its share of a platform-wide budget.

Alone, a link spaces its submits `1/rate` apart. Scaled out, the carrier's cap is for the account, not
for each connection: every node's link of a connector draws from one budget (`RateBudget`, a token
bucket the nodes share, implemented outside this room), a small batch of tokens at a time, and spends
the batch locally, so the shared store sees one call per batch rather than one per submit. When the
budget cannot be reached the link paces itself at the budget's `local_rate` (its equal share) until
it can again.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class RateBudget(Protocol):
    """One connector's submits-per-second, shared by every link of it on the platform."""

    @property
    def batch(self) -> int:
        """How many tokens a link asks for at a time."""
        ...

    @property
    def local_rate(self) -> float:
        """The rate to pace at alone while the budget cannot be reached: this link's equal share."""
        ...

    async def take(self, wanted: int) -> tuple[int, float] | None:
        """Up to `wanted` tokens now, and when none were granted how many seconds to wait before
        asking again; None when the budget cannot be reached."""
        ...


# How long a link paces itself alone after the budget could not be reached, before it asks again.
ALONE_FOR = 1.0


class TokenBucket:
    """Spaces submits `1/rate` apart, allowing a small burst; with a `budget`, spends the platform's
    tokens instead (see the module docstring).

    Each caller reserves the next free instant and sleeps until it (virtual scheduling), so there
    is no lock and no polling; over any span T at most `burst + T * rate` submits pass.
    """

    __slots__ = ("_alone_until", "_budget", "_fetching", "_interval", "_next", "_slack", "_tokens", "rate")

    def __init__(self, rate: float, burst: float | None = None, *, budget: RateBudget | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        if burst is None:
            burst = max(1.0, rate / 50.0)  # 20 ms worth: keeps timers few at high rates
        self._slack = (max(1.0, burst) - 1.0) * self._interval
        self._next = 0.0
        self._budget = budget
        self._tokens = 0  # granted by the budget, not spent yet
        self._fetching: asyncio.Lock | None = None
        self._alone_until = 0.0

    async def take(self) -> None:
        """Wait for the caller's turn."""
        if self._budget is not None:
            await self._take_shared(self._budget)
            return
        await self._pace()

    async def _pace(self) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(self._next, now - self._slack)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _take_shared(self, budget: RateBudget) -> None:
        loop = asyncio.get_running_loop()
        if self._fetching is None:
            self._fetching = asyncio.Lock()
        while True:
            if self._tokens > 0:
                self._tokens -= 1
                return
            if loop.time() < self._alone_until:
                self._follow(budget.local_rate)
                await self._pace()
                return
            async with self._fetching:  # one caller asks for the batch; the others spend it
                if self._tokens > 0 or loop.time() < self._alone_until:
                    continue
                grant = await budget.take(budget.batch)
                if grant is None:
                    self._alone_until = loop.time() + ALONE_FOR
                    continue
                granted, wait = grant
                if granted > 0:
                    self._tokens += granted
                else:
                    await asyncio.sleep(wait)

    def _follow(self, rate: float) -> None:
        """Pace at `rate` from now on (the local share changes as processes come and go)."""
        rate = max(rate, 0.001)
        if rate != self.rate:
            self.rate = rate
            self._interval = 1.0 / rate
            self._slack = (max(1.0, rate / 50.0) - 1.0) * self._interval
