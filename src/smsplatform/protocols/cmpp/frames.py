"""Whole frames of the PDUs a busy CMPP link sends for every message, written without a PDU object.

Nearly every frame on a busy link is a CMPP_SUBMIT to one number, a CMPP_DELIVER (mostly status
reports), or the answer to one, and most of their fields never change on a given link. Building a
frozen PDU of two dozen fields and packing it through the codec's general plan costs several times
more than writing the few fields that do change around octets prepared once.

These writers give exactly the bytes `codec.encode` gives for what they accept, and None for
anything they cannot vouch for (text that is not ASCII or too long, content over 255 octets, a
Msg_Id that is not 8 octets, a number out of range): the caller then builds the PDU and lets the
codec give the bytes or name the field at fault, so taking this path never changes what goes on
the wire.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import Final

from smsplatform.protocols.cmpp import codec
from smsplatform.protocols.cmpp.layout import DIALECT, LAYOUTS
from smsplatform.protocols.cmpp.pdu import CmppVersion, CommandId, Deliver, MsgFmt, Submit
from smsplatform.protocols.cmpp.report import REPORT_LAYOUTS
from smsplatform.protocols.layout import FrameTemplate

__all__ = ["DeliverFramer", "SubmitFramer", "message_response_frame"]

_MAX_CONTENT: Final = 255
_MSG_ID_SIZE: Final = 8
_STAT_WIDTH: Final = 7  # of a status report's Stat
_TIME_WIDTH: Final = 10  # of its Submit_time and Done_time
# Status/Result grew from one octet to four in 3.0.
_RESPONSES: Final = {
    version: struct.Struct(">III8sI" if version is CmppVersion.V30 else ">III8sB") for version in CmppVersion
}
_MESSAGE_RESPONSES: Final = frozenset({CommandId.SUBMIT_RESP, CommandId.DELIVER_RESP})


class SubmitFramer:
    """CMPP_SUBMIT frames to one number sharing the fixed fields of a template.

    Per message only Pk_total, Pk_number, Registered_Delivery, TP_udhi, Msg_Fmt, Src_Id, the
    destination and Msg_Content vary; Msg_Id, Msg_level, Service_Id, the fee fields, TP_pId,
    Msg_src, the times, the terminal types and LinkID come from the template.
    """

    __slots__ = ("_fixed", "_head", "_size", "_source_width", "_tail", "_terminal_width")

    def __init__(self, template: Submit, version: CmppVersion) -> None:
        """ValueError when the template's fixed fields cannot go on the wire (as codec.encode says)."""
        frame = codec.encode(replace(template, dest_terminal_ids=("",), msg_content=b""), version)
        cut = FrameTemplate(
            frame,
            LAYOUTS[version][CommandId.SUBMIT],
            DIALECT,
            (
                "pk_total",
                "pk_number",
                "registered_delivery",
                "tp_udhi",
                "msg_fmt",
                "src_id",
                "dest_terminal_ids",
                "msg_content",
            ),
        )
        self._head, self._fixed, self._tail, self._size = cut.head, cut.fixed, cut.tail, cut.size
        self._source_width = cut.widths["src_id"]
        self._terminal_width = cut.widths["dest_terminal_ids"]

    def frame(
        self,
        sequence: int,
        pk_total: int,
        pk_number: int,
        registered_delivery: int,
        tp_udhi: int,
        msg_fmt: int,
        src_id: str,
        destination: str,
        msg_content: bytes,
    ) -> bytes | None:
        """The whole frame; None when unsure."""
        if (
            type(msg_content) is not bytes
            or len(msg_content) > _MAX_CONTENT
            or len(src_id) > self._source_width
            or len(destination) > self._terminal_width
            or not (src_id + destination).isascii()
            or "\0" in src_id
            or "\0" in destination
        ):
            return None
        f = self._fixed
        try:
            head = self._head.pack(
                self._size + len(msg_content),
                CommandId.SUBMIT,
                sequence,
                f[0],
                pk_total,
                f[1],
                pk_number,
                f[2],
                registered_delivery,
                f[3],
                tp_udhi,
                f[4],
                msg_fmt,
                f[5],
                src_id.encode("ascii"),
                f[6],
                destination.encode("ascii"),
                f[7],
                len(msg_content),
            )
        except struct.error:
            return None
        return b"".join((head, msg_content, self._tail))


class DeliverFramer:
    """CMPP_DELIVER frames sharing the fixed fields of a template.

    Per message only Msg_Id, Dest_Id, TP_udhi, Msg_Fmt, Src_terminal_Id, Registered_Delivery and
    Msg_Content vary; Service_Id, TP_pid, Src_terminal_type and LinkID come from the template.
    """

    __slots__ = (
        "_dest_width",
        "_fixed",
        "_head",
        "_report_head",
        "_report_size",
        "_size",
        "_source_width",
        "_tail",
    )

    def __init__(self, template: Deliver, version: CmppVersion) -> None:
        """ValueError when the template's fixed fields cannot go on the wire (as codec.encode says)."""
        frame = codec.encode(replace(template, msg_content=b""), version)
        cut = FrameTemplate(
            frame,
            LAYOUTS[version][CommandId.DELIVER],
            DIALECT,
            (
                "msg_id",
                "dest_id",
                "tp_udhi",
                "msg_fmt",
                "src_terminal_id",
                "registered_delivery",
                "msg_content",
            ),
        )
        self._head, self._fixed, self._tail, self._size = cut.head, cut.fixed, cut.tail, cut.size
        self._dest_width = cut.widths["dest_id"]
        self._source_width = cut.widths["src_terminal_id"]
        # A status report is packed with the rest of its deliver, as the content that follows the head.
        # (Its Dest_terminal_Id is as wide as Src_terminal_Id in both versions: one check does for both.)
        report = REPORT_LAYOUTS[version]
        self._report_head = struct.Struct(cut.head.format + report.format.lstrip(">"))
        self._report_size = report.size

    def frame(
        self,
        sequence: int,
        msg_id: bytes,
        dest_id: str,
        tp_udhi: int,
        msg_fmt: int,
        src_terminal_id: str,
        registered_delivery: int,
        msg_content: bytes,
    ) -> bytes | None:
        """The whole frame; None when unsure."""
        if (
            type(msg_id) is not bytes
            or type(msg_content) is not bytes
            or len(msg_id) != _MSG_ID_SIZE
            or len(msg_content) > _MAX_CONTENT
            or len(dest_id) > self._dest_width
            or len(src_terminal_id) > self._source_width
            or not (dest_id + src_terminal_id).isascii()
            or "\0" in dest_id
            or "\0" in src_terminal_id
        ):
            return None
        f = self._fixed
        try:
            head = self._head.pack(
                self._size + len(msg_content),
                CommandId.DELIVER,
                sequence,
                f[0],
                msg_id,
                f[1],
                dest_id.encode("ascii"),
                f[2],
                tp_udhi,
                f[3],
                msg_fmt,
                f[4],
                src_terminal_id.encode("ascii"),
                f[5],
                registered_delivery,
                f[6],
                len(msg_content),
            )
        except struct.error:
            return None
        return b"".join((head, msg_content, self._tail))

    def report_frame(
        self,
        sequence: int,
        msg_id: bytes,
        dest_id: str,
        src_terminal_id: str,
        reported_msg_id: bytes,
        stat: str,
        submit_time: str,
        done_time: str,
        smsc_sequence: int,
    ) -> bytes | None:
        """The status report on the message `reported_msg_id` sent to `src_terminal_id`; None when unsure.

        `frame` with Registered_Delivery 1, ASCII, and the report (as protocols.cmpp.report writes
        it, its Dest_terminal_Id the handset that sends it) for Msg_Content.
        """
        if (
            type(msg_id) is not bytes
            or type(reported_msg_id) is not bytes
            or len(msg_id) != _MSG_ID_SIZE
            or len(reported_msg_id) != _MSG_ID_SIZE
            or len(dest_id) > self._dest_width
            or len(src_terminal_id) > self._source_width
            or len(stat) > _STAT_WIDTH
            or len(submit_time) > _TIME_WIDTH
            or len(done_time) > _TIME_WIDTH
        ):
            return None
        texts = f"{dest_id}\0{src_terminal_id}\0{stat}\0{submit_time}\0{done_time}"
        if not texts.isascii() or texts.count("\0") != 4:  # each one ASCII without a NUL of its own
            return None
        dest, source, stat_octets, submit_octets, done_octets = texts.encode("ascii").split(b"\0")
        f = self._fixed
        try:
            head = self._report_head.pack(
                self._size + self._report_size,
                CommandId.DELIVER,
                sequence,
                f[0],
                msg_id,
                f[1],
                dest,
                f[2],
                0,  # TP_udhi
                f[3],
                MsgFmt.ASCII,
                f[4],
                source,
                f[5],
                1,  # Registered_Delivery: a status report
                f[6],
                self._report_size,
                reported_msg_id,
                stat_octets,
                submit_octets,
                done_octets,
                source,
                smsc_sequence,
            )
        except struct.error:
            return None
        return head + self._tail


def message_response_frame(
    command_id: int, sequence: int, msg_id: bytes, result: int, version: CmppVersion
) -> bytes | None:
    """A CMPP_SUBMIT_RESP or CMPP_DELIVER_RESP in the layout of `version`; None when unsure."""
    if command_id not in _MESSAGE_RESPONSES or type(msg_id) is not bytes or len(msg_id) != _MSG_ID_SIZE:
        return None
    response = _RESPONSES[version]
    try:
        return response.pack(response.size, command_id, sequence, msg_id, result)
    except struct.error:
        return None
