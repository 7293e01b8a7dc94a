"""The status report an ISMG carries in CMPP_DELIVER's Msg_Content when Registered_Delivery is 1.

Msg_Id(8) Stat(7) Submit_time(10) Done_time(10) Dest_terminal_Id(32 in 3.0, 21 in 2.0) SMSC_sequence(4).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from smsplatform.protocols.cmpp.pdu import CmppVersion
from smsplatform.protocols.errors import ProtocolError

# Final states from the Stat table; error states look like "MA:0001", "MB:xxxx", "IB:xxxx" and so on.
STAT_DELIVERED = "DELIVRD"
STAT_EXPIRED = "EXPIRED"
STAT_DELETED = "DELETED"
STAT_UNDELIVERABLE = "UNDELIV"
STAT_ACCEPTED = "ACCEPTD"  # intermediate: an ISMG should drop it, but tolerate one that forwards it
STAT_UNKNOWN = "UNKNOWN"
STAT_REJECTED = "REJECTD"

_FIXED = 8 + 7 + 10 + 10 + 4
_DEST_WIDTH = {CmppVersion.V30: 32, CmppVersion.V20: 21}
_SIZES = {_FIXED + width: width for width in _DEST_WIDTH.values()}
# The whole report as one Struct: Msg_Id, the four texts (NUL-padded to their widths), SMSC_sequence.
REPORT_LAYOUTS: Final[Mapping[CmppVersion, struct.Struct]] = {
    version: struct.Struct(f">8s7s10s10s{width}sI") for version, width in _DEST_WIDTH.items()
}
_LAYOUT_OF_SIZE = {layout.size: layout for layout in REPORT_LAYOUTS.values()}

# Msg_Id, Stat, Submit_time, Done_time, Dest_terminal_Id, SMSC_sequence.
ReportFields = tuple[bytes, str, str, str, str, int]

REPORT_TIME_FORMAT = "%y%m%d%H%M"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    msg_id: bytes
    stat: str
    submit_time: str
    done_time: str
    dest_terminal_id: str
    smsc_sequence: int = 0


def report_size(version: CmppVersion) -> int:
    return _FIXED + _DEST_WIDTH[version]


def parse_report(content: bytes) -> StatusReport:
    """The report in a DELIVER's Msg_Content.

    Its size (71 or 60 octets) says which Dest_terminal_Id width was used; that is more reliable than the
    negotiated version, since some 3.0 ISMGs still send the 2.0 report.
    """
    msg_id, stat, submit_time, done_time, dest_terminal_id, smsc_sequence = read_report(content)
    return StatusReport(
        msg_id=msg_id,
        stat=stat,
        submit_time=submit_time,
        done_time=done_time,
        dest_terminal_id=dest_terminal_id,
        smsc_sequence=smsc_sequence,
    )


def read_report(content: bytes) -> ReportFields:
    """`parse_report` as a tuple of its fields, for a reader that takes reports by the thousand."""
    layout = _LAYOUT_OF_SIZE.get(len(content))
    if layout is None:
        raise ProtocolError(f"status report of {len(content)} octets; expected one of {sorted(_SIZES)}")
    msg_id, *fields, smsc_sequence = layout.unpack(content)
    try:
        stat, submit_time, done_time, dest_terminal_id = [
            field.partition(b"\0")[0].decode("ascii") for field in fields
        ]
    except UnicodeDecodeError:
        stat, submit_time, done_time, dest_terminal_id = map(_text, fields)  # names the field at fault
    return msg_id, stat, submit_time, done_time, dest_terminal_id, smsc_sequence


def build_report(report: StatusReport, version: CmppVersion) -> bytes:
    """Msg_Content for a status-report DELIVER; ValueError for values the fields cannot carry."""
    return report_content(
        report.msg_id,
        report.stat,
        report.submit_time,
        report.done_time,
        report.dest_terminal_id,
        report.smsc_sequence,
        version,
    )


def report_content(
    msg_id: bytes,
    stat: str,
    submit_time: str,
    done_time: str,
    dest_terminal_id: str,
    smsc_sequence: int,
    version: CmppVersion,
) -> bytes:
    """`build_report` from the fields themselves, for an ISMG that writes reports by the thousand."""
    layout = REPORT_LAYOUTS[version]
    if (
        type(msg_id) is bytes
        and len(msg_id) == 8
        and len(stat) <= 7
        and len(submit_time) <= 10
        and len(done_time) <= 10
        and len(dest_terminal_id) <= _DEST_WIDTH[version]
        and (texts := f"{stat}\0{submit_time}\0{done_time}\0{dest_terminal_id}").isascii()
        and texts.count("\0") == 3
    ):
        try:
            return layout.pack(
                msg_id,
                stat.encode("ascii"),
                submit_time.encode("ascii"),
                done_time.encode("ascii"),
                dest_terminal_id.encode("ascii"),
                smsc_sequence,
            )
        except struct.error:
            pass
    # Something does not fit: checked field by field, so the error names it.
    if len(msg_id) != 8:
        raise ValueError(f"msg_id must be 8 octets, got {len(msg_id)}")
    if not 0 <= smsc_sequence <= 0xFFFFFFFF:
        raise ValueError(f"smsc_sequence={smsc_sequence} does not fit 4 octets")
    return b"".join(
        (
            msg_id,
            _pad("stat", stat, 7),
            _pad("submit_time", submit_time, 10),
            _pad("done_time", done_time, 10),
            _pad("dest_terminal_id", dest_terminal_id, _DEST_WIDTH[version]),
            smsc_sequence.to_bytes(4, "big"),
        )
    )


def format_report_time(when: datetime) -> str:
    """Submit_time/Done_time text: YYMMDDHHMM."""
    return when.strftime(REPORT_TIME_FORMAT)


def parse_report_time(text: str) -> datetime | None:
    """The naive local time in a Submit_time/Done_time, or None when an ISMG filled in something else."""
    if len(text) != 10 or not text.isascii() or not text.isdigit():
        return None
    try:
        return datetime.strptime(text, REPORT_TIME_FORMAT)
    except ValueError:
        return None


def _text(raw: bytes) -> str:
    try:
        return raw.split(b"\0", 1)[0].decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(f"non-ASCII octets in a status report field: {raw!r}") from None


def _pad(name: str, value: str, width: int) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{name}={value!r} is not ASCII") from None
    if len(raw) > width or b"\0" in raw:
        raise ValueError(f"{name}={value!r} does not fit {width} NUL-padded octets")
    return raw.ljust(width, b"\0")
