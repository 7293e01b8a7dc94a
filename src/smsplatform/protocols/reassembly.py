"""Joining the numbered parts of a long message (MO at the ESME, MT at the SMSC) back into one.

One reassembler for every protocol: it knows nothing of PDUs, only of parts filed under a key (the
originator, the recipient, the concatenation reference and so on, as the caller scopes them) with their
position among `total`. SMPP's `smpp.reassembly` recognises its segments and files them here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_TTL = 600.0
DEFAULT_MAX_PENDING = 10_000


@dataclass(slots=True)
class _Group(Generic[T]):
    total: int
    started: float
    parts: dict[int, T] = field(default_factory=dict)

    def in_order(self) -> list[T]:
        return [self.parts[position] for position in sorted(self.parts)]


class Reassembler(Generic[T]):
    """Collects parts by (key, position) and hands back all of them, in order, once complete.

    A repeated position replaces the earlier part (a resent segment). Groups incomplete after `ttl`
    seconds, and the oldest group when `max_pending` are held, are given up on, so lost segments cannot
    grow memory. By default they are simply forgotten (checked as parts arrive); with
    `keep_incomplete` they are held for `expire`, which hands back what arrived of them, and the
    caller calls it now and then.

    Time is `clock()` unless a call passes its own `now` (any monotonic seconds).
    """

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        keep_incomplete: bool = False,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_pending = max_pending
        self._keep_incomplete = keep_incomplete
        self._groups: dict[Hashable, _Group[T]] = {}
        self._given_up: list[list[T]] = []
        self._next_sweep: float | None = None

    def __len__(self) -> int:
        """Incomplete groups being held."""
        return len(self._groups)

    def add(
        self, key: Hashable, total: int, position: int, part: T, *, now: float | None = None
    ) -> list[T] | None:
        """File one part; every part of its group, in order, once the last is in, else None."""
        if now is None:
            now = self._clock()
        if not self._keep_incomplete:
            if self._next_sweep is None:
                self._next_sweep = now + self._ttl
            elif now >= self._next_sweep:
                self._give_up_stale(now)
                self._given_up.clear()
                self._next_sweep = now + self._ttl
        group = self._groups.get(key)
        if group is None or group.total != total:
            if group is None:
                self._make_room()
            group = self._groups[key] = _Group(total, now)
        group.parts[position] = part
        if len(group.parts) < total:
            return None
        del self._groups[key]
        return group.in_order()

    def expire(self, now: float | None = None) -> list[list[T]]:
        """Give up on groups older than the ttl; what arrived of them (and of any evicted), in order."""
        self._give_up_stale(self._clock() if now is None else now)
        given_up, self._given_up = self._given_up, []
        return given_up

    def _give_up_stale(self, now: float) -> None:
        stale = [key for key, group in self._groups.items() if now - group.started >= self._ttl]
        for key in stale:
            self._given_up.append(self._groups.pop(key).in_order())

    def _make_room(self) -> None:
        while self._groups and len(self._groups) >= self._max_pending:
            oldest = next(iter(self._groups))
            lost = self._groups.pop(oldest)
            if self._keep_incomplete:
                self._given_up.append(lost.in_order())
