"""A link's submit rate, measured when someone looks rather than on every submit (the hot path)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateMeter:
    """Events per second between two looks at a growing count.

    Each look at least `interval` seconds after the previous sample starts a new one and gives the
    rate over the span in between; looks sooner than that give the last rate again, so a health
    report every few seconds and a page that looks now and then both see the rate of the last few
    seconds, whoever looks first.
    """

    __slots__ = ("_clock", "_count", "_interval", "_rate", "_time")

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._time = clock()
        self._count = 0
        self._rate = 0.0

    def rate(self, count: int) -> float:
        now = self._clock()
        elapsed = now - self._time
        if elapsed >= self._interval:
            self._rate = max(0, count - self._count) / elapsed
            self._time, self._count = now, count
        return self._rate
