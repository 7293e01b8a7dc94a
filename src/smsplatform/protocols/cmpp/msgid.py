"""The 64-bit CMPP Msg_Id: what an ISMG hands out in SUBMIT_RESP and quotes again in the status report.

Bits, most significant first: month 4, day 5, hour 5, minute 6, second 6, ISMG id 22, sequence 16.
We store ids as the decimal digits of the unsigned big-endian integer: every ISMG's id survives that form
unchanged, even ids that do not follow the bit layout.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from smsplatform.protocols.errors import ProtocolError

MSG_ID_SIZE = 8

# (name, width in bits), most significant first.
_LAYOUT = (
    ("month", 4),
    ("day", 5),
    ("hour", 5),
    ("minute", 6),
    ("second", 6),
    ("gateway_id", 22),
    ("sequence", 16),
)


class MsgIdParts(NamedTuple):
    month: int
    day: int
    hour: int
    minute: int
    second: int
    gateway_id: int
    sequence: int


def pack_msg_id(parts: MsgIdParts) -> bytes:
    """The 8 octets of a Msg_Id; ValueError if a part does not fit its bits."""
    value = 0
    for (name, bits), part in zip(_LAYOUT, parts, strict=True):
        if not 0 <= part < 1 << bits:
            raise ValueError(f"{name}={part} does not fit {bits} bits")
        value = value << bits | part
    return value.to_bytes(MSG_ID_SIZE, "big")


def unpack_msg_id(data: bytes) -> MsgIdParts:
    """The parts of a Msg_Id, read as they are (no calendar check: ISMGs are not all careful)."""
    if len(data) != MSG_ID_SIZE:
        raise ProtocolError(f"Msg_Id must be {MSG_ID_SIZE} octets, got {len(data)}")
    value = int.from_bytes(data, "big")
    parts: list[int] = []
    for _, bits in reversed(_LAYOUT):
        parts.append(value & ((1 << bits) - 1))
        value >>= bits
    return MsgIdParts(*reversed(parts))


def format_msg_id(data: bytes) -> str:
    """The canonical text form we store: the unsigned 64-bit big-endian integer in decimal."""
    if len(data) != MSG_ID_SIZE:
        raise ProtocolError(f"Msg_Id must be {MSG_ID_SIZE} octets, got {len(data)}")
    return str(int.from_bytes(data, "big"))


def parse_msg_id(text: str) -> bytes:
    """The octets of a Msg_Id stored by ``format_msg_id``; ValueError for anything else."""
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not a decimal Msg_Id")
    value = int(text)
    if value >= 1 << 64:
        raise ValueError(f"{text!r} is larger than 64 bits")
    return value.to_bytes(MSG_ID_SIZE, "big")


class MsgIdGenerator:
    """Hands out Msg_Ids for one ISMG (the simulator's side of SUBMIT_RESP).

    The caller passes the time, so the generator never reads a clock. The 16-bit sequence wraps, as the
    specification asks, which keeps ids unique unless one ISMG issues more than 65536 in the same second.
    """

    def __init__(self, gateway_id: int, *, start_sequence: int = 0) -> None:
        if not 0 <= gateway_id < 1 << 22:
            raise ValueError(f"gateway_id={gateway_id} does not fit 22 bits")
        self._gateway_id = gateway_id
        self._sequence = start_sequence & 0xFFFF
        self._when: datetime | None = None
        self._above_sequence = 0  # the bits of _when and the gateway id, the sequence's left as 0

    def next_id(self, when: datetime) -> bytes:
        return self.next_value(when).to_bytes(MSG_ID_SIZE, "big")

    def next_value(self, when: datetime) -> int:
        """`next_id` as the unsigned integer, for a caller that wants its text form (format_msg_id)."""
        if when != self._when:  # callers hand out ids by the thousand a second: pack the rest once
            self._when = when
            parts = MsgIdParts(when.month, when.day, when.hour, when.minute, when.second, self._gateway_id, 0)
            self._above_sequence = int.from_bytes(pack_msg_id(parts), "big")
        value = self._above_sequence | self._sequence
        self._sequence = (self._sequence + 1) & 0xFFFF
        return value
