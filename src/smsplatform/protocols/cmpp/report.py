"""The status report an ISMG carries in CMPP_DELIVER's Msg_Content when Registered_Delivery is 1.

Msg_Id(8) Stat(7) Submit_time(10) Done_time(10) Dest_terminal_Id(32 in 3.0, 21 in 2.0) SMSC_sequence(4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    dest_width = _SIZES.get(len(content))
    if dest_width is None:
        raise ProtocolError(f"status report of {len(content)} octets; expected one of {sorted(_SIZES)}")
    msg_id = content[0:8]
    stat = _text(content[8:15])
    submit_time = _text(content[15:25])
    done_time = _text(content[25:35])
    dest_terminal_id = _text(content[35 : 35 + dest_width])
    smsc_sequence = int.from_bytes(content[35 + dest_width :], "big")
    return StatusReport(
        msg_id=msg_id,
        stat=stat,
        submit_time=submit_time,
        done_time=done_time,
        dest_terminal_id=dest_terminal_id,
        smsc_sequence=smsc_sequence,
    )


def build_report(report: StatusReport, version: CmppVersion) -> bytes:
    """Msg_Content for a status-report DELIVER; ValueError for values the fields cannot carry."""
    if len(report.msg_id) != 8:
        raise ValueError(f"msg_id must be 8 octets, got {len(report.msg_id)}")
    if not 0 <= report.smsc_sequence <= 0xFFFFFFFF:
        raise ValueError(f"smsc_sequence={report.smsc_sequence} does not fit 4 octets")
    return b"".join(
        (
            report.msg_id,
            _pad("stat", report.stat, 7),
            _pad("submit_time", report.submit_time, 10),
            _pad("done_time", report.done_time, 10),
            _pad("dest_terminal_id", report.dest_terminal_id, _DEST_WIDTH[version]),
            report.smsc_sequence.to_bytes(4, "big"),
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
