"""CMPP framing and body coding, sans-IO.

Every frame is Total_Length(4) Command_Id(4) Sequence_Id(4) then the body. ``encode``/``decode`` handle one
whole frame; ``PduReader`` cuts frames out of a byte stream the way h11 does, so the connector owns the
socket and this module never blocks or reads the clock.

Each PDU is first tried on the plan compiled from its layout (`layout.PLANS`), which packs or unpacks a
whole frame with a few precompiled Structs. When the plan cannot vouch for the result (a value the wire
cannot carry, a malformed body), the fields are walked one by one instead, which gives the same bytes and
PDUs and raises the precise error; so the plan only ever makes things faster (see `protocols.layout`).
"""

from __future__ import annotations

import struct

from smsplatform.protocols import layout as compiled
from smsplatform.protocols.cmpp.errors import PduDecodeError
from smsplatform.protocols.cmpp.layout import (
    DIALECT,
    HEADER_SIZE,
    LAYOUTS,
    MAX_FRAME_SIZE,
    PDU_CLASSES,
    PLANS,
    Plan,
    compile_layout,
    fixed_size,
    layouts_by_body_size,
)
from smsplatform.protocols.cmpp.pdu import CmppVersion, CommandId, Pdu
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.framing import LengthPrefixedReader

__all__ = ["HEADER_SIZE", "MAX_FRAME_SIZE", "PduReader", "decode", "encode"]

_HEADER = struct.Struct(">III")

# For fixed-size bodies the size picks the layout whatever the negotiated version (see layouts_by_body_size).
_BY_BODY_SIZE: dict[int, dict[int, Plan]] = {
    command_id: {
        size: compile_layout(layout, PDU_CLASSES[command_id], DIALECT)
        for size, layout in layouts_by_body_size(command_id).items()
    }
    for command_id in CommandId
    if all(fixed_size(LAYOUTS[version][command_id]) is not None for version in CmppVersion)
}


def encode(pdu: Pdu, version: CmppVersion) -> bytes:
    """The whole frame for ``pdu`` in the layout of ``version``.

    Raises ValueError for values the wire cannot carry (text too long or not ASCII, integers out of range,
    Msg_Id not 8 octets, more than 255 content octets); silently cutting a phone number would be worse.
    """
    return compiled.encode(PLANS[version][pdu.command_id], pdu)


def decode(frame: bytes, version: CmppVersion) -> Pdu:
    """The PDU in one whole frame.

    Raises ProtocolError when the frame is not one frame (length field disagrees with its size), and its
    subclass PduDecodeError, carrying Command_Id and Sequence_Id, when the header is sound but the command is
    unknown or the body does not fit its layout.
    """
    if len(frame) < HEADER_SIZE:
        raise ProtocolError(f"frame of {len(frame)} octets is shorter than the {HEADER_SIZE}-octet header")
    total_length, raw_command_id, sequence = _HEADER.unpack_from(frame)
    if total_length != len(frame):
        raise ProtocolError(f"Total_Length {total_length} disagrees with a frame of {len(frame)} octets")
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    by_size = _BY_BODY_SIZE.get(raw_command_id)
    if by_size is None:
        plan = PLANS[version].get(raw_command_id)
        if plan is None:
            raise compiled.unknown_command(DIALECT, raw_command_id, sequence)
    else:
        plan = by_size.get(total_length - HEADER_SIZE)
        if plan is None:
            raise PduDecodeError(
                f"body of {total_length - HEADER_SIZE} octets fits no layout",
                command_id=raw_command_id,
                sequence=sequence,
            )
    pdu: Pdu = compiled.decode(plan, frame, raw_command_id, sequence)
    return pdu


class PduReader(LengthPrefixedReader[Pdu]):
    """Cuts PDUs out of a CMPP byte stream (see `protocols.framing.LengthPrefixedReader`).

    ``version`` may be changed once CONNECT has settled it; it applies to frames decoded afterwards.
    """

    __slots__ = ("version",)

    def __init__(self, version: CmppVersion, *, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self.version = version
        super().__init__(
            self._decode_frame,
            header_size=HEADER_SIZE,
            max_frame_size=max_frame_size,
            framing_error=_framing_error,
        )

    def _decode_frame(self, frame: bytes) -> Pdu:
        return decode(frame, self.version)


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return ProtocolError(f"Total_Length {length} outside {smallest}..{largest}")
