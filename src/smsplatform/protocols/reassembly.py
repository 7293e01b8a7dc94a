"""Joining the numbered parts of a long message (MO at the ESME, MT at the SMSC) back into one."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Group(Generic[T]):
    total: int
    started: float
    parts: dict[int, T] = field(default_factory=dict)


class Reassembler(Generic[T]):
    """Collects parts by (key, position) and hands back all of them, in order, once complete.

    Groups that stay incomplete for `ttl` seconds are forgotten, so lost segments cannot grow memory.
    A repeated position replaces the earlier part (a resent segment).
    """

    def __init__(self, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._groups: dict[Hashable, _Group[T]] = {}
        self._next_sweep = clock() + ttl

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, key: Hashable, total: int, position: int, part: T) -> list[T] | None:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        group = self._groups.get(key)
        if group is None or group.total != total:
            group = self._groups[key] = _Group(total, now)
        group.parts[position] = part
        if len(group.parts) < total:
            return None
        del self._groups[key]
        return [group.parts[index] for index in sorted(group.parts)]

    def _sweep(self, now: float) -> None:
        cutoff = now - self._ttl
        for key in [key for key, group in self._groups.items() if group.started < cutoff]:
            del self._groups[key]
        self._next_sweep = now + self._ttl
