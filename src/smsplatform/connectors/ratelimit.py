"""The submits-per-second cap of one link."""

from __future__ import annotations

import asyncio


class TokenBucket:
    """Spaces submits `1/rate` apart, allowing a small burst.

    Each caller reserves the next free instant and sleeps until it (virtual scheduling), so there
    is no lock and no polling; over any span T at most `burst + T * rate` submits pass.
    """

    __slots__ = ("_interval", "_next", "_slack", "rate")

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        if burst is None:
            burst = max(1.0, rate / 50.0)  # 20 ms worth: keeps timers few at high rates
        self._slack = (max(1.0, burst) - 1.0) * self._interval
        self._next = 0.0

    async def take(self) -> None:
        """Wait for the caller's turn."""
        now = asyncio.get_running_loop().time()
        slot = max(self._next, now - self._slack)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)
