"""SMGP frames: PacketLength(4) RequestID(4) SequenceID(4), then the body (spec §5.2.1).

`encode`/`decode` turn one PDU into one whole frame and back, by the tables of `layout`; `PduReader`
cuts a byte stream into frames, in the manner of h11: the link feeds it whatever the socket gave and
asks for PDUs.

Encoding a value that does not fit its field raises ValueError (a bug in the caller); decoding
bytes that make no sense raises ProtocolError, and `PduDecodeError` when the frame's RequestID
and SequenceID could still be read, so the link can answer it and go on.

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
from smsplatform.protocols.smgp.layout import (
    CLIENT_ID_WIDTH,
    DIALECT,
    FEE_CODE_WIDTH,
    FEE_TYPE_WIDTH,
    HEADER_LENGTH,
    MAX_MSG_LENGTH,
    MAX_PACKET_LENGTH,
    PLANS,
    SERVICE_ID_WIDTH,
    TERM_ID_WIDTH,
)
from smsplatform.protocols.smgp.pdu import Pdu

__all__ = [
    "CLIENT_ID_WIDTH",
    "FEE_CODE_WIDTH",
    "FEE_TYPE_WIDTH",
    "HEADER",
    "HEADER_LENGTH",
    "MAX_MSG_LENGTH",
    "MAX_PACKET_LENGTH",
    "SERVICE_ID_WIDTH",
    "TERM_ID_WIDTH",
    "PduReader",
    "decode",
    "encode",
]

HEADER: Final = struct.Struct(">III")


def encode(pdu: Pdu) -> bytes:
    """The whole frame for `pdu`, header included."""
    return compiled.encode(PLANS[pdu.command_id], pdu)


def decode(frame: bytes) -> Pdu:
    """The PDU in one whole frame, such as `PduReader` cuts from a stream."""
    if len(frame) < HEADER_LENGTH:
        raise ProtocolError(f"frame of {len(frame)} octets is shorter than the {HEADER_LENGTH}-octet header")
    packet_length, command_id, sequence = HEADER.unpack_from(frame)
    if packet_length != len(frame):
        raise ProtocolError(f"PacketLength {packet_length} does not match the frame's {len(frame)} octets")
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    plan = PLANS.get(command_id)
    if plan is None:
        raise compiled.unknown_command(DIALECT, command_id, sequence)
    pdu: Pdu = compiled.decode(plan, frame, command_id, sequence)
    return pdu


class PduReader(LengthPrefixedReader[Pdu]):
    """Sans-IO framing of an SMGP stream (see `protocols.framing.LengthPrefixedReader`).

    A PacketLength outside [12, max_packet_length] means the stream can no longer be cut into
    frames; the reader raises ProtocolError and keeps raising it, since the link must close.
    """

    __slots__ = ()

    def __init__(self, max_packet_length: int = MAX_PACKET_LENGTH) -> None:
        super().__init__(
            decode, header_size=HEADER_LENGTH, max_frame_size=max_packet_length, framing_error=_framing_error
        )


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return ProtocolError(f"PacketLength {length} outside {smallest}..{largest}; the stream is out of step")
