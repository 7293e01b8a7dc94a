"""Whole frames of the PDUs a busy SMGP link sends for every message, written without a PDU object.

Nearly every frame on a busy link is a Submit to one number, a Deliver (mostly status reports), or
the answer to one, and most of a Submit's fields never change on a given link. Building a frozen
PDU and then packing it costs several times more than writing the few fields that do change
around octets prepared once.

These writers give exactly the bytes `codec.encode` gives for what they accept, and None for
anything they cannot vouch for (text beyond Latin-1 or too long, content over 255 octets, a MsgID
that is not 10 octets, a number out of range): the caller then builds the PDU and lets the codec
give the bytes or name the field at fault, so taking this path never changes what goes on the wire.
Optional parameters come already encoded (`encoded_tlvs`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import replace
from typing import Final

from smsplatform.protocols.smgp import codec
from smsplatform.protocols.smgp.pdu import MSG_ID_LENGTH, CommandId, Submit
from smsplatform.protocols.smgp.tlv import Tlv, encode_tlvs
from smsplatform.protocols.smgp.wire import TEXT_ENCODING

__all__ = ["SubmitFramer", "answer_frame", "deliver_frame", "encoded_tlvs"]

_TERM_ID_WIDTH: Final = codec.TERM_ID_WIDTH
_RECV_TIME_WIDTH: Final = 14
_RESERVE: Final = bytes(8)  # an empty Reserve, as every frame written here has
# Header, MsgType, NeedReport, Priority, ServiceID..FixedFee (24 octets), MsgFormat, ValidTime and
# AtTime (34), SrcTermID, ChargeTermID, DestTermIDCount, one DestTermID, MsgLength.
_SUBMIT_HEAD: Final = struct.Struct(">IIIBBB24sB34s21s21sB21sB")
# Header, MsgID, IsReport, MsgFormat, RecvTime, SrcTermID, DestTermID, MsgLength.
_DELIVER_HEAD: Final = struct.Struct(">III10sBB14s21s21sB")
_ANSWER: Final = struct.Struct(">III10sI")  # header, MsgID, Status
_ANSWERS: Final = frozenset({CommandId.SUBMIT_RESP, CommandId.DELIVER_RESP})
_MAX_CONTENT: Final = codec.MAX_MSG_LENGTH


class SubmitFramer:
    """Submit frames to one number sharing the fixed fields of a template.

    Per message only NeedReport, MsgFormat, SrcTermID, the destination, MsgContent and the TLVs
    vary; MsgType, Priority, ServiceID, the fee fields, ValidTime, AtTime, ChargeTermID and Reserve
    come from the template.
    """

    __slots__ = ("_charge_term_id", "_fees", "_msg_type", "_priority", "_reserve", "_times")

    def __init__(self, template: Submit) -> None:
        """ValueError when the template's fixed fields cannot go on the wire (as codec.encode says)."""
        t = template
        codec.encode(replace(t, dest_term_ids=("",), msg_content=b"", tlvs=()))

        def octets(value: str, width: int) -> bytes:
            return value.encode(TEXT_ENCODING).ljust(width, b"\0")

        self._msg_type = t.msg_type
        self._priority = t.priority
        self._fees = (
            octets(t.service_id, 10) + octets(t.fee_type, 2) + octets(t.fee_code, 6) + octets(t.fixed_fee, 6)
        )
        self._times = octets(t.valid_time, 17) + octets(t.at_time, 17)
        self._charge_term_id = octets(t.charge_term_id, _TERM_ID_WIDTH)
        self._reserve = octets(t.reserve, 8)

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
        if type(msg_content) is not bytes or len(msg_content) > _MAX_CONTENT:
            return None
        try:
            source = src_term_id.encode(TEXT_ENCODING)
            dest = destination.encode(TEXT_ENCODING)
        except UnicodeEncodeError:
            return None
        if len(source) > _TERM_ID_WIDTH or len(dest) > _TERM_ID_WIDTH:
            return None
        size = _SUBMIT_HEAD.size + len(msg_content) + len(self._reserve) + len(tlvs)
        try:
            head = _SUBMIT_HEAD.pack(
                size,
                CommandId.SUBMIT,
                sequence,
                self._msg_type,
                need_report,
                self._priority,
                self._fees,
                msg_format,
                self._times,
                source,
                self._charge_term_id,
                1,  # DestTermIDCount
                dest,
                len(msg_content),
            )
        except struct.error:
            return None
        return b"".join((head, msg_content, self._reserve, tlvs))


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
    if (
        type(msg_id) is not bytes
        or type(msg_content) is not bytes
        or len(msg_id) != MSG_ID_LENGTH
        or len(msg_content) > _MAX_CONTENT
    ):
        return None
    try:
        time = recv_time.encode(TEXT_ENCODING)
        source = src_term_id.encode(TEXT_ENCODING)
        dest = dest_term_id.encode(TEXT_ENCODING)
    except UnicodeEncodeError:
        return None
    if len(time) > _RECV_TIME_WIDTH or len(source) > _TERM_ID_WIDTH or len(dest) > _TERM_ID_WIDTH:
        return None
    size = _DELIVER_HEAD.size + len(msg_content) + len(_RESERVE) + len(tlvs)
    try:
        head = _DELIVER_HEAD.pack(
            size,
            CommandId.DELIVER,
            sequence,
            msg_id,
            is_report,
            msg_format,
            time,
            source,
            dest,
            len(msg_content),
        )
    except struct.error:
        return None
    return b"".join((head, msg_content, _RESERVE, tlvs))


def answer_frame(command_id: int, sequence: int, msg_id: bytes, status: int) -> bytes | None:
    """A Submit_Resp or Deliver_Resp; None when unsure."""
    if command_id not in _ANSWERS or type(msg_id) is not bytes or len(msg_id) != MSG_ID_LENGTH:
        return None
    try:
        return _ANSWER.pack(_ANSWER.size, command_id, sequence, msg_id, status)
    except struct.error:
        return None


def encoded_tlvs(tlvs: Iterable[Tlv]) -> bytes:
    """The optional-parameter section the writers above take; ValueError as codec.encode raises it."""
    out = bytearray()
    encode_tlvs(out, tlvs)
    return bytes(out)
