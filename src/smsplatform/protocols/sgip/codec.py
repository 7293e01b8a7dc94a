"""SGIP 1.2 frames: PDU values to bytes and back, and a sans-IO reader that cuts a byte stream into PDUs.

Every frame is a 20-octet header (Message Length, Command ID, the three-part sequence number; all
big-endian unsigned) followed by the body of spec §4.2.3, as the tables of `layout` declare it.
Encoding a PDU whose fields do not fit their wire widths is a bug in the caller and raises ValueError;
bytes from a peer that do not parse raise ProtocolError (`PduDecodeError` when the frame was whole and
only its body is at fault).

Each PDU is first tried on the plan compiled from its layout, which packs or unpacks a whole frame with
a few precompiled Structs; when the plan cannot vouch for the result, the fields are walked one by one
instead, which gives the same bytes and PDUs and raises the precise error (see `protocols.layout`).
"""

from __future__ import annotations

import struct
from typing import Final

from smsplatform.protocols import layout as compiled
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.framing import LengthPrefixedReader
from smsplatform.protocols.sgip.layout import (
    CORP_ID_WIDTH,
    DIALECT,
    HEADER_LENGTH,
    LOGIN_WIDTH,
    MAX_FRAME_LENGTH,
    MAX_USER_NUMBERS,
    PHONE_WIDTH,
    PLANS,
    SERVICE_TYPE_WIDTH,
    make_sequence,
)
from smsplatform.protocols.sgip.pdu import Pdu

__all__ = [
    "CORP_ID_WIDTH",
    "HEADER_LENGTH",
    "LOGIN_WIDTH",
    "MAX_FRAME_LENGTH",
    "MAX_USER_NUMBERS",
    "PHONE_WIDTH",
    "SERVICE_TYPE_WIDTH",
    "PduReader",
    "decode",
    "encode",
]

_HEADER: Final = struct.Struct(">IIIII")


def encode(pdu: Pdu) -> bytes:
    """The whole frame for `pdu`, header included."""
    return compiled.encode(PLANS[pdu.command_id], pdu)


def decode(frame: bytes) -> Pdu:
    """The PDU in `frame`, which must be exactly one whole frame."""
    if len(frame) < HEADER_LENGTH:
        raise ProtocolError(f"SGIP frame of {len(frame)} octets is shorter than the header")
    length, command_id, node_id, timestamp, number = _HEADER.unpack_from(frame)
    if length != len(frame):
        raise ProtocolError(f"SGIP Message Length {length} does not match the {len(frame)}-octet frame")
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    sequence = make_sequence((node_id, timestamp, number))
    plan = PLANS.get(command_id)
    if plan is None:
        raise compiled.unknown_command(DIALECT, command_id, sequence)
    pdu: Pdu = compiled.decode(plan, frame, command_id, sequence)
    return pdu


class PduReader(LengthPrefixedReader[Pdu]):
    """Cuts an SGIP byte stream into PDUs (see `protocols.framing.LengthPrefixedReader`).

    A Message Length outside [HEADER_LENGTH, max_frame_length] means framing is lost: it raises a plain
    ProtocolError, and so does every later call; the link should close.
    """

    __slots__ = ()

    def __init__(self, max_frame_length: int = MAX_FRAME_LENGTH) -> None:
        super().__init__(
            decode, header_size=HEADER_LENGTH, max_frame_size=max_frame_length, framing_error=_framing_error
        )


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return ProtocolError(f"SGIP Message Length {length} is outside {smallest}-{largest}")
