"""Whole frames of the PDUs a busy SMGP link sends for every message, written without a PDU object.

Nearly every frame on a busy link is a Submit to one number, a Deliver (mostly status reports), or
the answer to one, and most of a Submit's fields never change on a given link. Building a frozen
PDU and then packing it costs several times more than writing the few fields that do change
around octets prepared once.

The octets and slots come from the codec's own layouts (`layout.LAYOUTS`, cut by
`protocols.layout.FrameTemplate`), so these writers give exactly the bytes `codec.encode` gives for
what they accept, and None for anything they cannot vouch for (text beyond Latin-1 or too long,
content over 255 octets, a MsgID that is not 10 octets, a number out of range): the caller then builds
the PDU and lets the codec give the bytes or name the field at fault, so taking this path never changes
what goes on the wire. Optional parameters come already encoded (`encoded_tlvs`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import replace
from typing import Final

from smsplatform.protocols.layout import FrameTemplate
from smsplatform.protocols.smgp import codec
from smsplatform.protocols.smgp.layout import DIALECT, LAYOUTS, MAX_PACKET_LENGTH, tlv_octets
from smsplatform.protocols.smgp.pdu import MSG_ID_LENGTH, CommandId, Deliver, DeliverResp, Submit, SubmitResp
from smsplatform.protocols.smgp.tlv import Tlv
from smsplatform.protocols.smgp.wire import TEXT_ENCODING

__all__ = ["SubmitFramer", "answer_frame", "deliver_frame", "encoded_tlvs"]

_MAX_CONTENT: Final = codec.MAX_MSG_LENGTH


class SubmitFramer:
    """Submit frames to one number sharing the fixed fields of a template.

    Per message only NeedReport, MsgFormat, SrcTermID, the destination, MsgContent and the TLVs
    vary; MsgType, Priority, ServiceID, the fee fields, ValidTime, AtTime, ChargeTermID and Reserve
    come from the template.
    """

    __slots__ = ("_fixed", "_head", "_size", "_tail", "_term_width")

    def __init__(self, template: Submit) -> None:
        """ValueError when the template's fixed fields cannot go on the wire (as codec.encode says)."""
        frame = codec.encode(replace(template, sequence=0, dest_term_ids=("",), msg_content=b"", tlvs=()))
        cut = FrameTemplate(
            frame,
            LAYOUTS[CommandId.SUBMIT],
            DIALECT,
            ("need_report", "msg_format", "src_term_id", "dest_term_ids", "msg_content"),
        )
        self._head, self._fixed, self._tail, self._size = cut.head, cut.fixed, cut.tail, cut.size
        self._term_width = cut.widths["dest_term_ids"]

    def frame(
        self,
        sequence: int,
        need_report: int,
        msg_format: int,
        src_term_id: str,
        destination: str,
        msg_content: bytes,
        tlvs: bytes = b"",
    ) -> bytes | None:
        """The whole frame; `tlvs` is the encoded optional-parameter section. None when unsure."""
        if type(msg_content) is not bytes or len(msg_content) > _MAX_CONTENT or type(tlvs) is not bytes:
            return None
        try:
            source = src_term_id.encode(TEXT_ENCODING)
            dest = destination.encode(TEXT_ENCODING)
        except (UnicodeEncodeError, AttributeError):
            return None
        size = self._size + len(msg_content) + len(tlvs)
        if len(source) > self._term_width or len(dest) > self._term_width or size > MAX_PACKET_LENGTH:
            return None
        f = self._fixed
        try:
            head = self._head.pack(
                size,
                CommandId.SUBMIT,
                sequence,
                f[0],
                need_report,
                f[1],
                msg_format,
                f[2],
                source,
                f[3],
                dest,
                f[4],
                len(msg_content),
            )
        except struct.error:
            return None
        return b"".join((head, msg_content, self._tail, tlvs))


_DELIVER: Final = FrameTemplate(
    codec.encode(Deliver(0, msg_id=bytes(MSG_ID_LENGTH))),
    LAYOUTS[CommandId.DELIVER],
    DIALECT,
    ("msg_id", "is_report", "msg_format", "recv_time", "src_term_id", "dest_term_id", "msg_content"),
)
_ANSWERS: Final[dict[int, FrameTemplate]] = {
    cls.command_id: FrameTemplate(
        codec.encode(cls(0)), LAYOUTS[cls.command_id], DIALECT, ("msg_id", "status")
    )
    for cls in (SubmitResp, DeliverResp)
}


def deliver_frame(
    sequence: int,
    msg_id: bytes,
    is_report: int,
    msg_format: int,
    recv_time: str,
    src_term_id: str,
    dest_term_id: str,
    msg_content: bytes,
    tlvs: bytes = b"",
) -> bytes | None:
    """A Deliver with an empty Reserve; `tlvs` is the encoded optional-parameter section. None when unsure."""
    t = _DELIVER
    if (
        type(msg_id) is not bytes
        or type(msg_content) is not bytes
        or type(tlvs) is not bytes
        or len(msg_id) != MSG_ID_LENGTH
        or len(msg_content) > _MAX_CONTENT
    ):
        return None
    texts = t.texts(
        DIALECT, (("recv_time", recv_time), ("src_term_id", src_term_id), ("dest_term_id", dest_term_id))
    )
    size = t.size + len(msg_content) + len(tlvs)
    if texts is None or size > MAX_PACKET_LENGTH:
        return None
    time, source, dest = texts
    f = t.fixed
    try:
        head = t.head.pack(
            size,
            CommandId.DELIVER,
            sequence,
            f[0],
            msg_id,
            f[1],
            is_report,
            f[2],
            msg_format,
            f[3],
            time,
            f[4],
            source,
            f[5],
            dest,
            f[6],
            len(msg_content),
        )
    except struct.error:
        return None
    return b"".join((head, msg_content, t.tail, tlvs))


def answer_frame(command_id: int, sequence: int, msg_id: bytes, status: int) -> bytes | None:
    """A Submit_Resp or Deliver_Resp; None when unsure."""
    t = _ANSWERS.get(command_id)
    if t is None or type(msg_id) is not bytes or len(msg_id) != MSG_ID_LENGTH:
        return None
    try:
        return t.head.pack(t.size, command_id, sequence, t.fixed[0], msg_id, t.fixed[1], status) + t.tail
    except struct.error:
        return None


def encoded_tlvs(tlvs: Iterable[Tlv]) -> bytes:
    """The optional-parameter section the writers above take; ValueError as codec.encode raises it."""
    return tlv_octets(tlvs)
