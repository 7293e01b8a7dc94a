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
