"""MO reassembly for adapters whose protocol package has none of its own."""

from __future__ import annotations

from smsplatform.protocols.reassembly import Reassembler


def test_parts_are_joined_in_order_and_stale_sets_dropped() -> None:
    now = [0.0]
    parts: Reassembler[bytes] = Reassembler(ttl=5, clock=lambda: now[0])
    assert parts.add(("139", "1069", 7), 2, 2, b"world") is None
    assert parts.add(("139", "1069", 7), 2, 1, b"hello ") == [b"hello ", b"world"]
    parts.add(("139", "1069", 8), 3, 1, b"never finished")
    now[0] = 6.0
    parts.add(("139", "1069", 9), 2, 1, b"x")
    assert len(parts) == 1


def test_kept_incomplete_sets_are_handed_back_by_expire() -> None:
    parts: Reassembler[str] = Reassembler(ttl=10, max_pending=2, keep_incomplete=True)
    parts.add("a", 3, 2, "a2", now=0)
    parts.add("a", 3, 1, "a1", now=1)
    parts.add("b", 2, 1, "b1", now=5)
    parts.add("c", 2, 2, "c2", now=6)  # no room: "a", the oldest, is evicted
    assert len(parts) == 2
    assert parts.expire(now=14) == [["a1", "a2"]]
    assert parts.expire(now=15) == [["b1"]]
    assert parts.add("c", 2, 1, "c1", now=16) == ["c1", "c2"]
    assert len(parts) == 0


def test_forgotten_sets_are_not_held() -> None:
    now = [0.0]
    parts: Reassembler[int] = Reassembler(ttl=5, clock=lambda: now[0], max_pending=1)
    parts.add("a", 2, 1, 1)
    parts.add("b", 2, 1, 1)  # evicts "a", forgotten
    assert len(parts) == 1
    assert parts.expire() == []
