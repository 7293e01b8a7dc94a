"""Segment reassembly on the SMSC side."""

from __future__ import annotations

from smsplatform.simulator.reassembly import Reassembler


def test_parts_in_any_order_come_back_in_order() -> None:
    parts: Reassembler[str] = Reassembler()
    assert parts.add("k", 3, 3, "c") is None
    assert parts.add("k", 3, 1, "a") is None
    assert parts.add("other", 2, 1, "x") is None
    assert parts.add("k", 3, 2, "b") == ["a", "b", "c"]
    assert len(parts) == 1


def test_resent_part_replaces_and_stale_groups_expire() -> None:
    now = [0.0]
    parts: Reassembler[str] = Reassembler(ttl=10, clock=lambda: now[0])
    parts.add("k", 2, 1, "old")
    parts.add("k", 2, 1, "new")
    assert parts.add("k", 2, 2, "end") == ["new", "end"]
    parts.add("lost", 2, 1, "x")
    now[0] = 11.0
    parts.add("fresh", 2, 1, "y")
    assert len(parts) == 1  # "lost" was swept
