"""When a failed callback is tried again, and when we stop trying.

SPEC §7 promises retries "with growing delays for at least 24 hours": the delays start short (a receiver
that blinked is back in seconds) and settle at hourly, and a row is given up only once a failure happens
`give_up_after` seconds or more after it was created.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_DELAYS = (10, 30, 60, 120, 300, 600, 1800, 3600)
DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    delays: tuple[int, ...] = DEFAULT_DELAYS  # seconds after the n-th failed attempt; the last repeats
    give_up_after: int = DAY  # seconds after creation

    def __post_init__(self) -> None:
        if not self.delays or min(self.delays) < 0:
            raise ValueError("a retry schedule needs at least one delay, none negative")

    def next_attempt_at(self, attempts: int, created_at: int, now: int) -> int | None:
        """The time of the next attempt after `attempts` failed ones, or None: give up."""
        if now - created_at >= self.give_up_after:
            return None
        return now + self.delays[min(max(attempts, 1), len(self.delays)) - 1]
