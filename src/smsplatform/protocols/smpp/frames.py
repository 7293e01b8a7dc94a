"""Whole frames of the PDUs a busy link sends for every message, written without a PDU object.

Nearly every frame on a busy link is a submit_sm, a deliver_sm receipt, or the answer to one, and
most of their fields never change on a given link. Building a frozen PDU and walking its layout
costs several times more than writing the few fields that do change around octets prepared once.

These writers give exactly the bytes `codec.encode` gives for what they accept, and None for
anything they cannot vouch for (an address that is not short 8-bit text, an over-long
short_message, a value out of range): the caller then builds the PDU and lets the codec give the
bytes or name the field at fault, so taking this path never changes what goes on the wire.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Final

from smsplatform.protocols.smpp import codec
from smsplatform.protocols.smpp.layout import LAYOUTS, MAX_SHORT_MESSAGE, Kind
from smsplatform.protocols.smpp.pdu import CommandId, DeliverSm, SubmitSm

__all__ = ["ShortMessageFramer", "message_response_frame"]

_HEADER: Final = struct.Struct(">IIII")
_MAX_MESSAGE_ID: Final = LAYOUTS[CommandId.SUBMIT_SM_RESP].fields[0].max_octets
_MESSAGE_RESPONSES: Final = frozenset(
    {CommandId.SUBMIT_SM_RESP, CommandId.DELIVER_SM_RESP, CommandId.DATA_SM_RESP}
)


# What a per-message field becomes in the %-format: a C-Octet String its text and NUL, an integer its octet,
# short_message its sm_length (the octets follow the formatted part).
_SLOTS: Final = {Kind.CSTRING: b"%s\0", Kind.UINT8: b"%c", Kind.SHORT_MESSAGE: b"%c"}
_PER_MESSAGE: Final = (
    "source_addr",
    "destination_addr",
    "esm_class",
    "registered_delivery",
    "data_coding",
    "short_message",
)


class ShortMessageFramer:
    """submit_sm or deliver_sm frames sharing the fixed fields of a template.

    Per message only the addresses, esm_class, registered_delivery, data_coding, short_message and
    the optional parameters vary; service_type, the address types, protocol_id, priority_flag,
    schedule_delivery_time, validity_period, replace_if_present_flag and sm_default_msg_id come
    from the template.

    The format is the template's body cut along the codec's layout (`layout.LAYOUTS`): the octets of
    each fixed field as the codec wrote them, a slot for each per-message one.
    """

    __slots__ = ("_address_octets", "_command_id", "_format")

    def __init__(self, template: SubmitSm | DeliverSm) -> None:
        """ValueError when the template's fixed fields cannot go on the wire (as codec.encode says)."""
        blank = replace(template, source_addr="", destination_addr="", short_message=b"", tlvs=())
        body = codec.encode(blank)[codec.HEADER_LENGTH :]
        self._command_id = template.command_id
        layout = LAYOUTS[template.command_id]
        pieces: list[bytes] = []
        position = 0
        for field in layout.fields:
            # Where the field ends in the template's body: its NUL, its octet, or its sm_length (0 here).
            end = body.index(b"\0", position) + 1 if field.kind is Kind.CSTRING else position + 1
            if field.name in _PER_MESSAGE:
                pieces.append(_SLOTS[field.kind])
            else:
                pieces.append(body[position:end].replace(b"%", b"%%"))  # a literal % in a %-format is doubled
            position = end
        self._format = b"".join(pieces)
        addresses = {f.name: f.max_octets for f in layout.fields if f.name in _PER_MESSAGE[:2]}
        self._address_octets = min(addresses.values())

    def frame(
        self,
        sequence: int,
        source_addr: str,
        destination_addr: str,
        esm_class: int,
        registered_delivery: int,
        data_coding: int,
        short_message: bytes,
        tlvs: bytes = b"",
    ) -> bytes | None:
        """The whole frame; `tlvs` is the encoded optional-parameter section. None when unsure."""
        if (
            len(source_addr) >= self._address_octets
            or len(destination_addr) >= self._address_octets
            or len(short_message) > MAX_SHORT_MESSAGE
            or "\0" in source_addr
            or "\0" in destination_addr
        ):
            return None
        try:
            body = self._format % (
                source_addr.encode("latin-1"),
                destination_addr.encode("latin-1"),
                esm_class,
                registered_delivery,
                data_coding,
                len(short_message),
            )
            size = 16 + len(body) + len(short_message) + len(tlvs)
            return b"".join((_HEADER.pack(size, self._command_id, 0, sequence), body, short_message, tlvs))
        except (UnicodeEncodeError, OverflowError, TypeError, struct.error):
            return None


def message_response_frame(
    command_id: int, command_status: int, sequence: int, message_id: str = ""
) -> bytes | None:
    """A submit_sm_resp, deliver_sm_resp or data_sm_resp without optional parameters; None when unsure.

    An error answer with no message_id goes out header-only, as the codec sends it.
    """
    if command_id not in _MESSAGE_RESPONSES:
        return None
    if not message_id:
        body = b"\0" if command_status == 0 else b""
    elif len(message_id) < _MAX_MESSAGE_ID and message_id.isascii() and "\0" not in message_id:
        body = message_id.encode("ascii") + b"\0"
    else:
        return None
    try:
        return _HEADER.pack(16 + len(body), command_id, command_status, sequence) + body
    except struct.error:
        return None
