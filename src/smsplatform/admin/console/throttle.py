"""Failed logins slowed down, per source address and per operator name.

Each failure doubles the wait before the next attempt from that address or for that name (0.5 s, 1 s,
2 s, … up to a cap); a success clears both. An attempt that comes early is held until its turn, and
takes its turn by reserving the next wait before its password is checked: attempts sent in parallel
pass one at a time, as slowly as attempts sent one after another.

Names are throttled whether or not an operator has them: the answer must not tell the two apart.
Kept in memory, per process: a restart forgets, which costs an attacker one restart per few guesses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
# Keys forgotten once their wait is this long over (a quiet hour wipes the slate clean).
FORGET_AFTER = 3600.0
MAX_KEYS = 100_000


@dataclass(slots=True)
class _State:
    failures: int = 0
    blocked_until: float = 0.0


def delay_after(failures: int) -> float:
    """The wait after `failures` failures in a row."""
    if failures <= 0:
        return 0.0
    return min(FIRST_DELAY * float(2 ** min(failures - 1, 32)), MAX_DELAY)


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._states: dict[str, _State] = {}

    @staticmethod
    def keys(address: str, name: str) -> tuple[str, str]:
        return f"ip:{address}", f"name:{name.strip().casefold()}"

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds before an attempt for `keys` is allowed (0: now)."""
        at = self._clock()
        waits = [state.blocked_until - at for key in keys if (state := self._states.get(key)) is not None]
        return max([0.0, *waits])

    def begin(self, keys: Iterable[str]) -> bool:
        """Take the turn for an attempt: False when it must wait (`wait` says how long); else the next
        attempt waits as if this one failed, until `succeeded` says otherwise."""
        keys = tuple(keys)
        if self.wait(keys) > 0:
            return False
        at = self._clock()
        for key in keys:
            state = self._state(key)
            state.blocked_until = at + delay_after(state.failures + 1)
        return True

    def failed(self, keys: Iterable[str]) -> None:
        at = self._clock()
        for key in keys:
            state = self._state(key)
            state.failures += 1
            state.blocked_until = at + delay_after(state.failures)

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._states.pop(key, None)

    def _state(self, key: str) -> _State:
        state = self._states.get(key)
        if state is not None and self._clock() - state.blocked_until > FORGET_AFTER:
            state.failures = 0
        if state is None:
            if len(self._states) >= MAX_KEYS:
                self._forget_old()
            state = self._states[key] = _State()
        return state

    def _forget_old(self) -> None:
        at = self._clock()
        for key in [k for k, s in self._states.items() if at - s.blocked_until > FORGET_AFTER]:
            del self._states[key]
        if len(self._states) >= MAX_KEYS:  # a flood of distinct keys: keep the most recently blocked
            ordered = sorted(self._states.items(), key=lambda item: item[1].blocked_until)
            for key, _ in ordered[: len(ordered) // 2]:
                del self._states[key]


async def take_turn(throttle: LoginThrottle, keys: tuple[str, ...]) -> None:
    """Wait until an attempt for `keys` may run, and take its turn."""
    # A wait that ends by the clock, not by an event: polling at the wait's own length costs nothing.
    while not throttle.begin(keys):  # noqa: ASYNC110
        await asyncio.sleep(min(throttle.wait(keys), MAX_DELAY))
