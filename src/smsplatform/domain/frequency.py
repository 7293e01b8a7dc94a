"""Frequency limits (anti-bombing): the policy, and the counters that apply it.

A limit is "at most N sends in any window of W seconds", checked per (sub-account, kind,
number) and per caller IP. Per number, the times of the earlier sends are read from the stored
messages (`within_limits` judges them); per caller IP, the counts live in this process
(`SlidingWindowCounter` for windows under a minute, `BucketCounter` for the rest, whose counts the
store keeps so that they outlive a restart). The scaled-out mode keeps the same policy in Redis.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from smsplatform.domain.templates import TemplateKind

__all__ = [
    "DEFAULT_LIMITS",
    "BucketCounter",
    "Limit",
    "SlidingWindowCounter",
    "format_limits",
    "limits_for",
    "parse_limits",
    "within_limits",
]


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``max_count`` hits in any ``window_seconds`` long window (0 blocks everything)."""

    window_seconds: int
    max_count: int

    def __post_init__(self) -> None:
        if self.window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, got {self.window_seconds}")
        if self.max_count < 0:
            raise ValueError(f"max_count must not be negative, got {self.max_count}")


#: The seed's rule for verification codes (4 a minute, 5 an hour, 8 a day) and ours for the rest.
DEFAULT_LIMITS: Mapping[TemplateKind, tuple[Limit, ...]] = MappingProxyType(
    {
        TemplateKind.VERIFICATION: (Limit(60, 4), Limit(3600, 5), Limit(86400, 8)),
        TemplateKind.NOTIFICATION: (Limit(86400, 50),),
        TemplateKind.MARKETING: (Limit(86400, 1),),
    }
)


def limits_for(kind: TemplateKind, overrides: Mapping[str, Sequence[Limit]] | None) -> tuple[Limit, ...]:
    """The limits for ``kind``: a sub-account's override (keyed by the kind's value) or the default."""
    if overrides is not None:
        override = overrides.get(kind.value)
        if override is not None:
            return tuple(override)
    return DEFAULT_LIMITS[kind]


def within_limits(times: Sequence[float], limits: Sequence[Limit], now: float) -> bool:
    """Whether one more send at ``now`` keeps every limit, given the earlier sends' times, oldest first.

    A limit of N per window is reached exactly when the N-th most recent send is still inside the
    window (later than ``now - window``), so only the last ``max(N)`` times matter.
    """
    for limit in limits:
        count = limit.max_count
        if count == 0:
            return False
        if len(times) >= count and times[-count] > now - limit.window_seconds:
            return False
    return True


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_LIMIT_SPEC = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]*)\s*([smhd]?)\s*", re.ASCII)


@functools.lru_cache(maxsize=1024)  # a few specs, parsed for every send of their sub-accounts
def parse_limits(spec: str) -> tuple[Limit, ...]:
    """Limits from an operator's ``count/seconds`` list, e.g. ``"4/60,5/3600,8/86400"``.

    A unit may follow the window (``4/1m,5/1h,8/d``: s, m, h, d). An empty or blank spec
    means no limit at all. Raises ValueError on anything else.
    """
    if not spec.strip():
        return ()
    limits: list[Limit] = []
    for part in spec.split(","):
        matched = _LIMIT_SPEC.fullmatch(part)
        if matched is None or not (matched.group(2) or matched.group(3)):
            raise ValueError(f"limit must look like 'count/seconds', got {part.strip()!r}")
        count, amount, unit = matched.groups()
        limits.append(Limit(int(amount or "1") * _UNITS[unit], int(count)))
    return tuple(limits)


def format_limits(limits: Sequence[Limit]) -> str:
    """The ``count/seconds`` form ``parse_limits`` reads back."""
    return ",".join(f"{limit.max_count}/{limit.window_seconds}" for limit in limits)


class _Hits:
    """One key's most recent hits, oldest first, and the longest window they were checked against."""

    __slots__ = ("horizon", "times")

    def __init__(self, depth: int, horizon: int) -> None:
        self.times: deque[float] = deque(maxlen=depth)
        self.horizon = horizon


class SlidingWindowCounter:
    """Exact sliding-window counts in memory, for one process (the embedded mode).

    Per key it keeps only the last ``max(max_count)`` hit times: a limit of N hits per
    window is reached exactly when the N-th most recent hit is still inside the window, so
    older hits never matter. A call is a dict lookup and one deque index per limit. Keys
    whose last hit has left their longest window are evicted in periodic sweeps over
    queues ordered by last hit (one queue per longest window), so memory follows the keys
    active within the last window, not all keys ever seen.

    Not thread-safe: meant for one event loop. ``now`` is any clock that does not run
    backwards (``time.monotonic()``), in seconds.
    """

    __slots__ = ("_by_horizon", "_hits", "_next_sweep", "_sweep_interval")

    def __init__(self, sweep_interval: float = 1.0) -> None:
        self._hits: dict[Hashable, _Hits] = {}
        self._by_horizon: dict[int, OrderedDict[Hashable, None]] = {}
        self._sweep_interval = sweep_interval
        self._next_sweep = float("-inf")

    def try_acquire(self, key: Hashable, limits: Sequence[Limit], now: float) -> bool:
        """Record a hit for ``key`` at ``now`` if every limit allows it; False (nothing recorded) if not."""
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        depth = 1
        horizon = 0
        for limit in limits:
            count = limit.max_count
            if count == 0:
                return False
            if hits is not None:
                times = hits.times
                if len(times) >= count and times[-count] > now - limit.window_seconds:
                    return False
            if count > depth:
                depth = count
            if limit.window_seconds > horizon:
                horizon = limit.window_seconds
        if hits is None:
            hits = self._hits[key] = _Hits(depth, horizon)
        else:
            if (hits.times.maxlen or 0) < depth:
                hits.times = deque(hits.times, maxlen=depth)
            if hits.horizon != horizon:
                self._queue(hits.horizon).pop(key, None)
                hits.horizon = horizon
        hits.times.append(now)
        queue = self._queue(horizon)
        queue[key] = None
        queue.move_to_end(key)
        return True

    def release(self, key: Hashable, now: float) -> None:
        """Undo the last hit recorded for ``key``, when a later step of the request failed."""
        hits = self._hits.get(key)
        if hits is not None:
            if hits.times:
                hits.times.pop()
            if not hits.times:
                del self._hits[key]
                self._queue(hits.horizon).pop(key, None)
        if now >= self._next_sweep:
            self._sweep(now)

    def __len__(self) -> int:
        """Keys currently tracked."""
        return len(self._hits)

    def _queue(self, horizon: int) -> OrderedDict[Hashable, None]:
        queue = self._by_horizon.get(horizon)
        if queue is None:
            queue = self._by_horizon[horizon] = OrderedDict()
        return queue

    def _sweep(self, now: float) -> None:
        """Evict keys whose last hit is older than their longest window; stop at the first live one."""
        self._next_sweep = now + self._sweep_interval
        emptied: list[int] = []
        for horizon, queue in self._by_horizon.items():
            cutoff = now - horizon
            while queue:
                key = next(iter(queue))
                hits = self._hits[key]
                if hits.times and hits.times[-1] > cutoff:
                    break
                del queue[key]
                del self._hits[key]
            if not queue:
                emptied.append(horizon)
        for horizon in emptied:
            del self._by_horizon[horizon]


class BucketCounter:
    """Hits per key counted in one-second buckets, for limits of a minute or longer.

    A count per second can be written to the store as it is and read back after a restart, where a
    list of hit times could not; at a minute's length the rounding is small. A bucket counts as long
    as any part of its second is inside a window, so a hit is forgotten between W and W + 1 seconds
    after it: never early. Memory: per key, at most one bucket per second of its longest window
    (plus the sweep interval's); keys whose newest bucket has left it are evicted in sweeps every
    ``sweep_interval`` seconds.

    ``pending`` counts the hits not yet written to the store; ``drain`` hands them over. Not
    thread-safe: meant for one event loop. ``now`` is unix time.
    """

    __slots__ = ("_buckets", "_horizon", "_next_sweep", "_pending", "_sweep_interval")

    def __init__(self, sweep_interval: float = 10.0) -> None:
        self._buckets: dict[Hashable, dict[int, int]] = {}
        self._horizon: dict[Hashable, int] = {}
        self._pending: dict[tuple[Hashable, int], int] = {}
        self._sweep_interval = sweep_interval
        self._next_sweep = float("-inf")

    def allows(self, key: Hashable, limits: Sequence[Limit], now: float) -> bool:
        """Whether one more hit at ``now`` keeps every limit (nothing is recorded)."""
        buckets = self._buckets.get(key)
        for limit in limits:
            if limit.max_count == 0:
                return False
            if buckets is not None:
                oldest = int(now) - limit.window_seconds  # the second in which the window starts
                if sum(n for second, n in buckets.items() if second >= oldest) >= limit.max_count:
                    return False
        return True

    def hit(self, key: Hashable, limits: Sequence[Limit], now: float) -> None:
        """Records one hit at ``now``, remembered for the longest of ``limits``."""
        if now >= self._next_sweep:
            self._sweep(now)
        second = int(now)
        buckets = self._buckets.get(key)
        if buckets is None:
            buckets = self._buckets[key] = {}
        buckets[second] = buckets.get(second, 0) + 1
        horizon = max((limit.window_seconds for limit in limits), default=0)
        if horizon > self._horizon.get(key, 0):
            self._horizon[key] = horizon
        pending = (key, second)
        self._pending[pending] = self._pending.get(pending, 0) + 1

    def add(self, key: Hashable, second: int, count: int, horizon: int) -> None:
        """Counts read back from the store (not pending: they are stored already)."""
        buckets = self._buckets.setdefault(key, {})
        buckets[second] = buckets.get(second, 0) + count
        if horizon > self._horizon.get(key, 0):
            self._horizon[key] = horizon

    def drain(self) -> list[tuple[Hashable, int, int]]:
        """The hits counted since the last drain, as (key, second, count), and forgets them as pending."""
        drained = [(key, second, count) for (key, second), count in self._pending.items()]
        self._pending = {}
        return drained

    def restore_pending(self, drained: Iterable[tuple[Hashable, int, int]]) -> None:
        """Hands back what ``drain`` gave when it could not be stored, to be written next time."""
        for key, second, count in drained:
            self._pending[(key, second)] = self._pending.get((key, second), 0) + count

    @property
    def pending(self) -> int:
        """Buckets with hits not drained yet."""
        return len(self._pending)

    def __len__(self) -> int:
        """Keys currently tracked."""
        return len(self._buckets)

    def _sweep(self, now: float) -> None:
        """Drops buckets that left their key's longest window, and keys left without any."""
        self._next_sweep = now + self._sweep_interval
        second = int(now)
        for key in list(self._buckets):
            oldest = second - self._horizon.get(key, 0)
            buckets = self._buckets[key]
            for stale in [s for s in buckets if s < oldest]:
                del buckets[stale]
            if not buckets:
                del self._buckets[key]
                self._horizon.pop(key, None)
