"""What a link tells the operator's log when it cannot connect or bind, or loses its session.

A link that cannot reach its SMSC retries every few seconds; a line per retry buries everything else
in the log, and no line at all leaves the operator guessing. So the first failure says why at
WARNING, further ones are counted and summed up in at most one line a minute, and the first bind
after a logged failure says so once at INFO.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

DEFAULT_INTERVAL = 60.0


class TroubleLog:
    """Rate-limited failure lines of one link; see the module docstring.

    A link that flaps (binds, drops, binds again) costs one WARNING and one INFO a minute at most:
    the INFO answers a WARNING, and failures within a minute of the last WARNING are only counted.
    """

    __slots__ = (
        "_clock",
        "_failures",
        "_first_unreported",
        "_interval",
        "_log",
        "_name",
        "_pending",
        "_unreported",
        "_warned_at",
        "bound_roles",
    )

    def __init__(
        self,
        log: logging.Logger,
        name: str,
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._name = name
        self._interval = interval
        self._clock = clock
        self._warned_at: float | None = None
        self._pending = False  # a WARNING went out and no INFO answered it yet
        self._failures = 0  # failures since the link was last bound
        self._unreported = 0  # failures since the last WARNING that no line mentioned
        self._first_unreported = 0.0
        self.bound_roles: set[str] = set()  # roles that have bound at least once

    def failed(self, what: str) -> None:
        """One failed attempt (or lost session); `what` says what failed and why."""
        now = self._clock()
        self._failures += 1
        if self._warned_at is not None and now - self._warned_at < self._interval:
            if not self._unreported:
                self._first_unreported = now
            self._unreported += 1
            return
        if self._pending:
            self._log.warning(
                "%s: still failing: %s (%s in the last %s)",
                self._name,
                what,
                _failures(self._unreported + 1),
                _span(now - self._warned_at if self._warned_at is not None else 0.0),
            )
        elif self._unreported:
            self._log.warning(
                "%s: %s (and %s in the %s before, not logged)",
                self._name,
                what,
                _failures(self._unreported),
                _span(now - self._first_unreported),
            )
        else:
            self._log.warning("%s: %s", self._name, what)
        self._warned_at = now
        self._pending = True
        self._unreported = 0

    def bound(self, role: str, peer: str) -> None:
        """A session of the link bound as `role` to `peer`."""
        first = role not in self.bound_roles
        self.bound_roles.add(role)
        if self._pending:
            self._log.info(
                "%s: bound again as %s to %s, after %s",
                self._name,
                role,
                peer,
                _failures(self._failures),
            )
            self._pending = False
        elif first:
            self._log.info("%s: bound as %s to %s", self._name, role, peer)
        else:
            self._log.debug("%s: bound again as %s to %s", self._name, role, peer)
        self._failures = 0


def describe_connect_error(error: OSError, timeout: float) -> str:
    """Why a TCP connect failed, in the words of the system ("connection refused"), not a repr."""
    if isinstance(error, TimeoutError) and error.errno is None:
        return f"no answer within {timeout:g} s"
    if error.errno is not None and error.errno > 0:
        text = os.strerror(error.errno)
    else:  # name resolution errors carry negative codes and their own text
        text = error.strerror or str(error) or type(error).__name__
    return text[:1].lower() + text[1:]


def _failures(count: int) -> str:
    return f"{count} failure" if count == 1 else f"{count} failures"


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
