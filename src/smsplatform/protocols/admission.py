"""Who a listener lets in, and how fast: limits that hold whatever protocol the listener speaks.

Sans-IO, like the codecs: a listener asks before it accepts a connection and before it answers a login,
and tells when a connection closes or a login fails; the clock is passed in. The API, the simulators
and the SGIP listener each keep one `SourceAdmission`, so one source address can neither hold all of a
process's file descriptors nor try passwords at the speed of the loopback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ListenerLimits", "SourceAdmission"]

# A source whose last failed login is this many seconds old starts over with the first delay.
_FAILURES_FORGOTTEN_AFTER = 600.0
# Sources remembered for their failed logins, at most (the oldest are forgotten first).
_MAX_REMEMBERED = 65_536


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """The limits of one listener (see the settings of the same names in config.py)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: float = 5.0
    login_timeout: float = 10.0
    max_connections_per_source: int = 256  # 0: no cap
    login_failure_delay: float = 1.0
    login_failure_delay_max: float = 30.0


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


@dataclass
class SourceAdmission:
    """Open connections and failed logins, per source address, for one listener."""

    limits: ListenerLimits = field(default_factory=ListenerLimits)
    _open: dict[str, int] = field(default_factory=dict)
    _failures: dict[str, _Failures] = field(default_factory=dict)

    def connection_opened(self, source: str) -> bool:
        """Counts a new connection from `source`; False (and not counted) when it is over the cap."""
        cap = self.limits.max_connections_per_source
        count = self._open.get(source, 0)
        if cap and count >= cap:
            return False
        self._open[source] = count + 1
        return True

    def connection_closed(self, source: str) -> None:
        """A connection that `connection_opened` counted is gone."""
        count = self._open.get(source, 0) - 1
        if count > 0:
            self._open[source] = count
        else:
            self._open.pop(source, None)

    def open_connections(self, source: str) -> int:
        return self._open.get(source, 0)

    def login_delay(self, source: str, now: float) -> float:
        """Seconds to hold back the answer to a login from `source` (any login, right or wrong: else a
        guesser would learn the right password from the speed of the answer)."""
        failures = self._failures.get(source)
        if failures is None:
            return 0.0
        if now - failures.last > _FAILURES_FORGOTTEN_AFTER:
            del self._failures[source]
            return 0.0
        limits = self.limits
        delay = limits.login_failure_delay * 2.0 ** min(failures.count - 1, 30)
        return float(min(delay, limits.login_failure_delay_max))

    def login_failed(self, source: str, now: float) -> None:
        failures = self._failures.pop(source, None)  # re-inserted: the dict stays in order of last use
        if failures is None:
            if len(self._failures) >= _MAX_REMEMBERED:
                del self._failures[next(iter(self._failures))]
            failures = _Failures(0, now)
        failures.count += 1
        failures.last = now
        self._failures[source] = failures

    def login_succeeded(self, source: str) -> None:
        self._failures.pop(source, None)
