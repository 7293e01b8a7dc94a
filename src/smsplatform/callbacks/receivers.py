"""What the operator's log says about customers' receivers: which one fails, why, and when it recovers.

A receiver that refuses every post would otherwise say so thousands of times a minute, or not at all.
Here the first failure of a host is logged at WARNING with its answer; while it keeps failing, at most
one line per `every` seconds says how many posts failed since the last line; the first success after
that is logged once at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from smsplatform.store.clock import now as wall_clock

log = logging.getLogger(__name__)


def host_of(url: str) -> str:
    """The host a URL names (no path or query: those may carry a customer's token)."""
    try:
        return httpx.URL(url).host or "(no host)"
    except httpx.InvalidURL:
        return "(invalid URL)"


@dataclass(slots=True)
class _Failing:
    since: int
    logged_at: int
    failed: int = 0  # posts failed since the last line
    total: int = 0  # posts failed since it started failing
    last_error: str = ""


class ReceiverLog:
    """Logs failing and recovering receivers, by host, at most one line per host every `every` seconds."""

    def __init__(self, *, every: int = 60, clock: Callable[[], int] = wall_clock) -> None:
        self._every = every
        self._clock = clock
        self._failing: dict[str, _Failing] = {}

    def failed(self, host: str, error: str) -> None:
        """A post to `host` got `error` (an answer such as "HTTP 500", or no answer)."""
        now = self._clock()
        state = self._failing.get(host)
        if state is None:
            self._failing[host] = _Failing(since=now, logged_at=now, total=1, last_error=error)
            log.warning("callback receiver %s is failing: %s", host, error)
            return
        state.failed += 1
        state.total += 1
        state.last_error = error
        if now - state.logged_at >= self._every:
            log.warning(
                "callback receiver %s still failing: %s (%d failed posts in %d s; failing for %d s)",
                host,
                error,
                state.failed,
                now - state.logged_at,
                now - state.since,
            )
            state.logged_at = now
            state.failed = 0

    def succeeded(self, host: str) -> None:
        """A post to `host` was acknowledged."""
        state = self._failing.pop(host, None) if self._failing else None
        if state is not None:
            log.info(
                "callback receiver %s answers again, after %d failed posts over %d s (last: %s)",
                host,
                state.total,
                self._clock() - state.since,
                state.last_error,
            )

    @property
    def failing(self) -> dict[str, str]:
        """Hosts failing now, with their last error."""
        return {host: state.last_error for host, state in self._failing.items()}
