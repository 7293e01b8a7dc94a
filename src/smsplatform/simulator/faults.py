"""Failures an SMSC can be told to show, switchable while it runs."""

from __future__ import annotations

import random


class Faults:
    """The current fault settings and the per-submit decisions they imply."""

    __slots__ = ("_random", "drop_ratio", "response_delay", "throttle_count", "throttle_ratio")

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self.throttle_count = 0
        self.throttle_ratio = 0.0
        self.response_delay = 0.0
        self.drop_ratio = 0.0

    @property
    def active(self) -> bool:
        return bool(self.throttle_count or self.throttle_ratio or self.response_delay or self.drop_ratio)

    def throttle(self, value: int | float) -> None:
        """An int n throttles the next n submits; a float in [0, 1] throttles that share of them.

        0 switches throttling off. 1 (int) is one submit, 1.0 (float) is every submit.
        """
        if isinstance(value, bool) or value < 0:
            raise ValueError("throttle takes a count (int >= 0) or a ratio (float in [0, 1])")
        if isinstance(value, int):
            self.throttle_count, self.throttle_ratio = value, 0.0
        else:
            self.throttle_count, self.throttle_ratio = 0, _ratio(value)

    def slow_responses(self, delay: float) -> None:
        """Answer submits `delay` seconds late (0: at once)."""
        if delay < 0:
            raise ValueError("delay must not be negative")
        self.response_delay = delay

    def drop_responses(self, ratio: float) -> None:
        """Never answer this share of submits (they are still accepted, as when a response is lost)."""
        self.drop_ratio = _ratio(ratio)

    def clear(self) -> None:
        self.throttle_count = 0
        self.throttle_ratio = self.response_delay = self.drop_ratio = 0.0

    def should_throttle(self) -> bool:
        if self.throttle_count:
            self.throttle_count -= 1
            return True
        return bool(self.throttle_ratio) and self._random.random() < self.throttle_ratio

    def should_drop(self) -> bool:
        return bool(self.drop_ratio) and self._random.random() < self.drop_ratio


def _ratio(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError("a ratio is between 0 and 1")
    return float(value)
