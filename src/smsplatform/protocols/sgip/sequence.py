"""Issuing SGIP sequence numbers: node id, the caller's clock as MMDDHHMMSS, and a wrapping counter."""

from __future__ import annotations

from datetime import datetime

from smsplatform.protocols.sgip.pdu import SgipSequence

_COUNTER_LIMIT = 1 << 32


def sequence_timestamp(moment: datetime) -> int:
    """The middle part of a sequence number: `moment` as the decimal number MMDDHHMMSS."""
    return (
        moment.month * 100_000_000
        + moment.day * 1_000_000
        + moment.hour * 10_000
        + moment.minute * 100
        + moment.second
    )


class SequenceGenerator:
    """Sequence numbers for commands this node originates.

    The clock is a parameter rather than read here so the codec stays free of I/O and tests can pin
    time; pass the node's local time (Beijing time for Chinese carriers). The counter starts at
    `start` and wraps from 2**32-1 back to 0, as spec §3.4 asks; with the time part beside it, a wrap
    cannot repeat a number within the same second unless a link sends 4 billion commands in it.
    """

    def __init__(self, node_id: int, start: int = 0) -> None:
        # Validates node_id and start the same way every issued sequence is validated.
        SgipSequence(node_id, 0, start)
        self._node_id = node_id
        self._next = start

    @property
    def node_id(self) -> int:
        return self._node_id

    def next(self, now: datetime) -> SgipSequence:
        """A fresh sequence stamped with `now`."""
        sequence = SgipSequence(self._node_id, sequence_timestamp(now), self._next)
        self._next = (self._next + 1) % _COUNTER_LIMIT
        return sequence
