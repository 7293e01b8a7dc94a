"""The status report carried as MsgContent of a Deliver with IsReport = 1 (spec §6.2.63).

SMGP borrows SMPP 3.4's receipt text, with the 10 raw MsgID octets after "id:":

    id:<MsgID 10> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 Text:<20>

`build_report` writes exactly that (122 octets, the layout positional parsers expect). Gateways
differ in the spelling of the labels ("Submit_date", "done_date", "Stat", "txt", extra spaces)
and some write the MsgID as its 20 digits, so `parse_report` finds the fields by label,
ignoring case, instead of by offset.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smgp.msgid import parse_msg_id
from smsplatform.protocols.smgp.pdu import MSG_ID_LENGTH, MsgFormat

TEXT_LENGTH: Final = 20
"""3 ASCII digits giving the original MsgLength, then up to 17 octets of the original content."""

TEXT_HEAD_LENGTH: Final = 17

# MsgID, stat, err, submit date, done date: what a status report's reader keeps.
ReportFields = tuple[bytes, str, str, str, str]


class Stat(StrEnum):
    """Final states of §6.2.63.1; a peer may send others, so `StatusReport.stat` stays a str."""

    DELIVERED = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIVERABLE = "UNDELIV"
    ACCEPTED = "ACCEPTD"
    UNKNOWN = "UNKNOWN"
    REJECTED = "REJECTD"


@dataclass(frozen=True, slots=True)
class StatusReport:
    msg_id: bytes
    """The MsgID the Submit_Resp gave the reported message (raw octets, see `msgid.format_msg_id`)."""
    stat: str
    err: str = "000"
    """Reason code of §6.2.63.2: 000 success, 001-010 handset/network causes, 999 unknown."""
    submit_date: str = ""
    """YYMMDDhhmm."""
    done_date: str = ""
    sub: str = "001"
    dlvrd: str = "001"
    text: bytes = b""
    """The Text field without its NUL padding (see `report_text`)."""

    @property
    def delivered(self) -> bool:
        return self.stat == Stat.DELIVERED


def build_report(report: StatusReport) -> bytes:
    """MsgContent for a Deliver reporting `report`; fields must have their full widths."""
    return report_content(
        report.msg_id,
        report.stat,
        report.err,
        report.submit_date,
        report.done_date,
        report.text,
        sub=report.sub,
        dlvrd=report.dlvrd,
    )


def report_content(
    msg_id: bytes,
    stat: str,
    err: str,
    submit_date: str,
    done_date: str,
    text: bytes,
    *,
    sub: str = "001",
    dlvrd: str = "001",
) -> bytes:
    """`build_report` from the fields themselves, for a gateway that writes reports by the thousand."""
    if (
        type(msg_id) is bytes
        and type(text) is bytes
        and len(msg_id) == MSG_ID_LENGTH
        and len(text) <= TEXT_LENGTH
        and len(sub) == 3
        and len(dlvrd) == 3
        and len(submit_date) == 10
        and len(done_date) == 10
        and len(stat) == 7
        and len(err) == 3
        and (
            fields := f"{sub} dlvrd:{dlvrd} submit date:{submit_date} done date:{done_date} stat:{stat}"
        ).isascii()
        and err.isascii()
    ):
        return b"id:%s sub:%s err:%s Text:%s" % (
            msg_id,
            fields.encode("ascii"),
            err.encode("ascii"),
            text.ljust(TEXT_LENGTH, b"\x00"),
        )
    # Something does not fit: checked field by field, so the error names it.
    if len(msg_id) != MSG_ID_LENGTH:
        raise ValueError(f"a MsgID is {MSG_ID_LENGTH} octets, got {len(msg_id)}")
    if len(text) > TEXT_LENGTH:
        raise ValueError(f"report Text holds at most {TEXT_LENGTH} octets, got {len(text)}")
    return b"".join(
        (
            b"id:",
            msg_id,
            b" sub:",
            _fixed(sub, 3, "sub"),
            b" dlvrd:",
            _fixed(dlvrd, 3, "dlvrd"),
            b" submit date:",
            _fixed(submit_date, 10, "submit date"),
            b" done date:",
            _fixed(done_date, 10, "done date"),
            b" stat:",
            _fixed(stat, 7, "stat"),
            b" err:",
            _fixed(err, 3, "err"),
            b" Text:",
            text.ljust(TEXT_LENGTH, b"\x00"),
        )
    )


_TEXT_MSG_ID = re.compile(rb"([0-9A-Fa-f]{20})\s")
_FIELDS = re.compile(
    rb"\s*sub:\s*(?P<sub>\S*)"
    rb"\s+dlvrd:\s*(?P<dlvrd>\S*)"
    rb"\s+submit[ _]?date:\s*(?P<submit_date>\S*)"
    rb"\s+done[ _]?date:\s*(?P<done_date>\S*)"
    rb"\s+stat:\s*(?P<stat>\S*)"
    rb"\s+err:\s*(?P<err>\S*)"
    rb"(?:\s*(?:text|txt):(?P<text>.*))?",
    re.IGNORECASE | re.DOTALL,
)


def parse_report(content: bytes) -> StatusReport:
    """The report in a Deliver's MsgContent; ProtocolError when it is not one."""
    if content[:3].lower() != b"id:":
        raise ProtocolError(f"status report does not start with 'id:': {content[:16]!r}")
    text_id = _TEXT_MSG_ID.match(content, 3)
    if text_id is not None:
        msg_id = parse_msg_id(text_id.group(1).decode("ascii"))
        rest = 3 + 2 * MSG_ID_LENGTH
    else:
        msg_id = content[3 : 3 + MSG_ID_LENGTH]
        rest = 3 + MSG_ID_LENGTH
        if len(msg_id) != MSG_ID_LENGTH:
            raise ProtocolError(f"status report ends inside its MsgID: {content!r}")
    fields = _FIELDS.match(content, rest)
    if fields is None:
        raise ProtocolError(f"status report fields not recognised: {content[rest:]!r}")
    return StatusReport(
        msg_id=msg_id,
        stat=_field(fields, "stat"),
        err=_field(fields, "err"),
        submit_date=_field(fields, "submit_date"),
        done_date=_field(fields, "done_date"),
        sub=_field(fields, "sub"),
        dlvrd=_field(fields, "dlvrd"),
        text=(fields.group("text") or b"").rstrip(b"\x00"),
    )


# The layout build_report writes, which is what most gateways send: read with one match. Each value
# is as wide as that layout has it and holds no whitespace, so parse_report would find the same.
_USUAL_LAYOUT = re.compile(
    rb"id:(.{10}) sub:\S{3} dlvrd:\S{3} submit date:(\S{10}) done date:(\S{10}) stat:(\S{7}) err:(\S{3})"
    rb" Text:",
    re.DOTALL,
)


def report_fields(content: bytes) -> ReportFields:
    """`parse_report`'s msg_id, stat, err, submit_date and done_date, for reports by the thousand."""
    usual = _USUAL_LAYOUT.match(content)
    if usual is None:
        report = parse_report(content)
        return report.msg_id, report.stat, report.err, report.submit_date, report.done_date
    msg_id, submit_date, done_date, stat, err = usual.groups()
    return (
        msg_id,
        stat.rstrip(b"\x00").decode("latin-1"),
        err.rstrip(b"\x00").decode("latin-1"),
        submit_date.rstrip(b"\x00").decode("latin-1"),
        done_date.rstrip(b"\x00").decode("latin-1"),
    )


def report_text(content: bytes, msg_format: int) -> bytes:
    """The Text field for a report on a message with this content: its length, then its start.

    The start is cut short of a character split in two (UCS-2 pairs, GB double octets), which is
    what the spec means by "no garbled content".
    """
    head = content[:TEXT_HEAD_LENGTH]
    if msg_format == MsgFormat.UCS2:
        head = head[: len(head) - len(head) % 2]
    elif msg_format == MsgFormat.GB:
        head = head[: _gb_boundary(head)]
    return b"%03d" % min(len(content), 999) + head


def _gb_boundary(data: bytes) -> int:
    """Length of the longest prefix of `data` that ends on a GB18030 character boundary."""
    position = 0
    while position < len(data):
        lead = data[position]
        if lead < 0x80:
            size = 1
        elif position + 1 < len(data) and 0x30 <= data[position + 1] <= 0x39:
            size = 4
        else:
            size = 2
        if position + size > len(data):
            break
        position += size
    return position


def _fixed(value: str, width: int, name: str) -> bytes:
    encoded = value.encode("ascii")
    if len(encoded) != width:
        raise ValueError(f"report {name} is {width} characters, got {value!r}")
    return encoded


def _field(fields: re.Match[bytes], name: str) -> str:
    return fields.group(name).rstrip(b"\x00").decode("latin-1")
