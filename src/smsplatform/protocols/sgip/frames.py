"""Whole frames of the PDUs a busy SGIP link sends for every message, written without a PDU object.

Nearly every frame on a busy link is a Submit to one number, a Report (or an MO Deliver), or the
answer to one, and most of a Submit's fields never change on a given link. Building a frozen PDU of
twenty fields and packing it through the codec's plan costs several times more than writing the few
fields that do change around octets prepared once.

The octets and slots come from the codec's own layouts (`layout.LAYOUTS`, cut by
`protocols.layout.FrameTemplate`), so these writers give exactly the bytes `codec.encode` gives for
what they accept, and None for anything they cannot vouch for (text that is not ASCII or too long, a
number out of range): the caller then builds the PDU and lets the codec give the bytes or name the
field at fault, so taking this path never changes what goes on the wire.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Final

from smsplatform.protocols.layout import FrameTemplate
from smsplatform.protocols.sgip import codec
from smsplatform.protocols.sgip.layout import DIALECT, LAYOUTS, MAX_FRAME_LENGTH
from smsplatform.protocols.sgip.pdu import (
    BindResp,
    CommandId,
    Deliver,
    DeliverResp,
    Pdu,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    UserRptResp,
)

__all__ = ["SubmitFramer", "deliver_frame", "report_frame", "result_frame"]

_NO_SEQUENCE: Final = SgipSequence(0, 0, 0)


def _ascii_fits(text: str, width: int) -> bool:
    return len(text) <= width and text.isascii() and "\0" not in text


class SubmitFramer:
    """Submit frames to one number sharing the fixed fields of a template.

    Per message only SPNumber, the UserNumber, ReportFlag, TP_udhi, MessageCoding and MessageContent
    vary; ChargeNumber, CorpId, ServiceType, the fee fields, AgentFlag, MorelatetoMTFlag, Priority, the
    times, TP_pid, MessageType and Reserve come from the template.
    """

    __slots__ = ("_fixed", "_head", "_number_width", "_size", "_source_width", "_tail")

    def __init__(self, template: Submit) -> None:
        """ValueError when the template's fixed fields cannot go on the wire (as codec.encode says)."""
        frame = codec.encode(
            replace(template, sequence=_NO_SEQUENCE, user_numbers=("",), message_content=b"")
        )
        cut = FrameTemplate(
            frame,
            LAYOUTS[CommandId.SUBMIT],
            DIALECT,
            ("sp_number", "user_numbers", "report_flag", "tp_udhi", "message_coding", "message_content"),
        )
        self._head, self._fixed, self._tail, self._size = cut.head, cut.fixed, cut.tail, cut.size
        self._source_width = cut.widths["sp_number"]
        self._number_width = cut.widths["user_numbers"]

    def frame(
        self,
        sequence: SgipSequence,
        sp_number: str,
        user_number: str,
        report_flag: int,
        tp_udhi: int,
        message_coding: int,
        message_content: bytes,
    ) -> bytes | None:
        """The whole frame; None when unsure."""
        if (
            type(message_content) is not bytes
            or not _ascii_fits(sp_number, self._source_width)
            or not _ascii_fits(user_number, self._number_width)
        ):
            return None
        size = self._size + len(message_content)
        if size > MAX_FRAME_LENGTH:
            return None
        f = self._fixed
        try:
            head = self._head.pack(
                size,
                CommandId.SUBMIT,
                sequence.node_id,
                sequence.timestamp,
                sequence.number,
                f[0],
                sp_number.encode("ascii"),
                f[1],
                user_number.encode("ascii"),
                f[2],
                report_flag,
                f[3],
                tp_udhi,
                f[4],
                message_coding,
                f[5],
                len(message_content),
            )
        except (struct.error, AttributeError):
            return None
        return b"".join((head, message_content, self._tail))


def _template(pdu: Pdu, per_message: tuple[str, ...]) -> FrameTemplate:
    return FrameTemplate(codec.encode(pdu), LAYOUTS[pdu.command_id], DIALECT, per_message)


_DELIVER: Final = _template(
    Deliver(sequence=_NO_SEQUENCE, user_number="", sp_number="", message_coding=0, message_content=b""),
    ("user_number", "sp_number", "tp_udhi", "message_coding", "message_content"),
)
_REPORT: Final = _template(
    Report(sequence=_NO_SEQUENCE, submit_sequence=_NO_SEQUENCE, user_number="", state=0),
    ("submit_sequence", "report_type", "user_number", "state", "error_code"),
)
_RESULTS: Final[dict[int, FrameTemplate]] = {
    cls.command_id: _template(cls(sequence=_NO_SEQUENCE, result=0), ("result",))
    for cls in (BindResp, SubmitResp, DeliverResp, ReportResp, UserRptResp)
}


def deliver_frame(
    sequence: SgipSequence,
    user_number: str,
    sp_number: str,
    tp_udhi: int,
    message_coding: int,
    message_content: bytes,
) -> bytes | None:
    """An MO Deliver with TP_pid 0 and an empty Reserve; None when unsure."""
    t = _DELIVER
    if (
        type(message_content) is not bytes
        or not _ascii_fits(user_number, t.widths["user_number"])
        or not _ascii_fits(sp_number, t.widths["sp_number"])
    ):
        return None
    size = t.size + len(message_content)
    if size > MAX_FRAME_LENGTH:
        return None
    f = t.fixed
    try:
        head = t.head.pack(
            size,
            CommandId.DELIVER,
            sequence.node_id,
            sequence.timestamp,
            sequence.number,
            f[0],
            user_number.encode("ascii"),
            f[1],
            sp_number.encode("ascii"),
            f[2],
            tp_udhi,
            f[3],
            message_coding,
            f[4],
            len(message_content),
        )
    except (struct.error, AttributeError):
        return None
    return b"".join((head, message_content, t.tail))


def report_frame(
    sequence: SgipSequence,
    submit_sequence: SgipSequence,
    user_number: str,
    state: int,
    error_code: int = 0,
    report_type: int = 0,
) -> bytes | None:
    """The Report on the Submit numbered `submit_sequence` to `user_number`; None when unsure."""
    t = _REPORT
    if not _ascii_fits(user_number, t.widths["user_number"]):
        return None
    f = t.fixed
    try:
        return (
            t.head.pack(
                t.size,
                CommandId.REPORT,
                sequence.node_id,
                sequence.timestamp,
                sequence.number,
                f[0],
                submit_sequence.node_id,
                submit_sequence.timestamp,
                submit_sequence.number,
                f[1],
                report_type,
                f[2],
                user_number.encode("ascii"),
                f[3],
                state,
                f[4],
                error_code,
            )
            + t.tail
        )
    except (struct.error, AttributeError):
        return None


def result_frame(command_id: int, sequence: SgipSequence, result: int) -> bytes | None:
    """A Bind_Resp, Submit_Resp, Deliver_Resp, Report_Resp or UserRpt_Resp; None when unsure."""
    t = _RESULTS.get(command_id)
    if t is None:
        return None
    try:
        return (
            t.head.pack(
                t.size, command_id, sequence.node_id, sequence.timestamp, sequence.number, t.fixed[0], result
            )
            + t.tail
        )
    except (struct.error, AttributeError):
        return None
