"""Who a listener lets in, and how fast: limits that hold whatever protocol the listener speaks.

Sans-IO, like the codecs: a listener asks before it accepts a connection and before it answers a login,
and tells when a connection closes or a login fails; the clock is passed in. The API, the simulators
and the SGIP listener each keep one `SourceAdmission`, so one source address can neither hold all of a
process's file descriptors nor try passwords at the speed of the loopback.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["ListenerLimits", "SourceAdmission", "source_key"]

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
    # When the latest login answer reserved for this source goes out: answers to parallel attempts
    # queue behind each other, so N connections guess no faster than one.
    next_answer: float = 0.0


@lru_cache(maxsize=4096)
def source_key(address: str) -> str:
    """What counts as one source: an IPv4 address, or an IPv6 address's /64 (one host is usually given
    a whole /64, so counting single IPv6 addresses would let it pose as millions of sources)."""
    if ":" not in address:
        return address
    try:
        ip = ipaddress.IPv6Address(address.split("%", 1)[0])
    except ValueError:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


@dataclass
class SourceAdmission:
    """Open connections and failed logins, per source address, for one listener."""

    limits: ListenerLimits = field(default_factory=ListenerLimits)
    _open: dict[str, int] = field(default_factory=dict)
    _failures: dict[str, _Failures] = field(default_factory=dict)

    def connection_opened(self, source: str) -> bool:
        """Counts a new connection from `source`; False (and not counted) when it is over the cap."""
        cap = self.limits.max_connections_per_source
        source = source_key(source)
        count = self._open.get(source, 0)
        if cap and count >= cap:
            return False
        self._open[source] = count + 1
        return True

    def connection_closed(self, source: str) -> None:
        """A connection that `connection_opened` counted is gone."""
        source = source_key(source)
        count = self._open.get(source, 0) - 1
        if count > 0:
            self._open[source] = count
        else:
            self._open.pop(source, None)

    def open_connections(self, source: str) -> int:
        return self._open.get(source_key(source), 0)

    def login_delay(self, source: str, now: float) -> float:
        """Seconds to hold back the answer to a login from `source` that arrives at `now`, and that
        answer's turn reserved (any login, right or wrong: else a guesser would learn the right password
        from the speed of the answer). Answers to one source go out one delay after another, however
        many connections ask at once."""
        source = source_key(source)
        failures = self._failures.get(source)
        if failures is None:
            return 0.0
        if now - failures.last > _FAILURES_FORGOTTEN_AFTER and failures.next_answer <= now:
            del self._failures[source]
            return 0.0
        limits = self.limits
        delay = min(
            limits.login_failure_delay * 2.0 ** min(failures.count - 1, 30), limits.login_failure_delay_max
        )
        answer_at = max(now, failures.next_answer) + delay
        failures.next_answer = answer_at
        return float(answer_at - now)

    def login_failed(self, source: str, now: float) -> None:
        source = source_key(source)
        failures = self._failures.pop(source, None)  # re-inserted: the dict stays in order of last use
        if failures is None:
            if len(self._failures) >= _MAX_REMEMBERED:
                del self._failures[next(iter(self._failures))]
            failures = _Failures(0, now)
        failures.count += 1
        failures.last = now
        self._failures[source] = failures

    def login_succeeded(self, source: str) -> None:
        self._failures.pop(source_key(source), None)
