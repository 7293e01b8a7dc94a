from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.cmpp.pdu import CmppVersion
from smsplatform.protocols.cmpp.report import (
    StatusReport,
    build_report,
    format_report_time,
    parse_report,
    parse_report_time,
    read_report,
    report_content,
    report_size,
)
from smsplatform.protocols.errors import ProtocolError

from .strategies import text

# A 2.0 report (Dest_terminal_Id of 21 octets) from gocmpp's test data (github.com/bigwhite/gocmpp).
GOCMPP_REPORT_V20 = bytes.fromhex(
    "b4c553000001000044454c49565244313531313132303935353135313131323039353731333431323334303030300000"
    "000000000000000012345678"
)
GOCMPP_REPORT = StatusReport(
    msg_id=(13025908756704198656).to_bytes(8, "big"),
    stat="DELIVRD",
    submit_time="1511120955",
    done_time="1511120957",
    dest_terminal_id="13412340000",
    smsc_sequence=0x12345678,
)


def test_2_0_report_from_gocmpp() -> None:
    assert parse_report(GOCMPP_REPORT_V20) == GOCMPP_REPORT
    assert build_report(GOCMPP_REPORT, CmppVersion.V20) == GOCMPP_REPORT_V20


def test_3_0_report_layout() -> None:
    content = build_report(GOCMPP_REPORT, CmppVersion.V30)
    assert len(content) == 8 + 7 + 10 + 10 + 32 + 4 == report_size(CmppVersion.V30)
    assert content[:35] == GOCMPP_REPORT_V20[:35]
    assert content[35:67] == b"13412340000".ljust(32, b"\0")
    assert content[67:] == bytes.fromhex("12345678")
    assert parse_report(content) == GOCMPP_REPORT


@pytest.mark.parametrize("version", list(CmppVersion))
@given(data=st.data())
def test_round_trip(version: CmppVersion, data: st.DataObject) -> None:
    report = StatusReport(
        msg_id=data.draw(st.binary(min_size=8, max_size=8)),
        stat=data.draw(text(7)),
        submit_time=data.draw(text(10)),
        done_time=data.draw(text(10)),
        dest_terminal_id=data.draw(text(32 if version is CmppVersion.V30 else 21)),
        smsc_sequence=data.draw(st.integers(0, 0xFFFFFFFF)),
    )
    assert parse_report(build_report(report, version)) == report


@given(st.binary(max_size=100).filter(lambda b: len(b) not in (60, 71)))
def test_other_sizes_are_a_protocol_error(content: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_report(content)


def test_non_ascii_stat_is_a_protocol_error() -> None:
    content = bytearray(GOCMPP_REPORT_V20)
    content[8] = 0xFF
    with pytest.raises(ProtocolError):
        parse_report(bytes(content))


def test_error_stat_codes_pass_through() -> None:
    report = StatusReport(
        msg_id=bytes(8), stat="MB:0011", submit_time="", done_time="", dest_terminal_id="13800138000"
    )
    assert parse_report(build_report(report, CmppVersion.V30)).stat == "MB:0011"


def test_build_refuses_a_stat_longer_than_seven() -> None:
    report = StatusReport(
        msg_id=bytes(8), stat="DELIVERED", submit_time="", done_time="", dest_terminal_id="1"
    )
    with pytest.raises(ValueError):
        build_report(report, CmppVersion.V30)


@pytest.mark.parametrize("version", list(CmppVersion))
@given(data=st.data())
def test_report_content_is_the_layout_or_names_the_field(version: CmppVersion, data: st.DataObject) -> None:
    dest_width = 32 if version is CmppVersion.V30 else 21
    widths = {"stat": 7, "submit_time": 10, "done_time": 10, "dest_terminal_id": dest_width}
    texts = {name: data.draw(text(width) | st.text(max_size=width + 2)) for name, width in widths.items()}
    msg_id = data.draw(st.binary(min_size=8, max_size=8) | st.binary(max_size=9))
    smsc_sequence = data.draw(st.integers(0, 0xFFFFFFFF) | st.integers(-1, 2**32))
    faults = [
        name
        for name, value in texts.items()
        if not value.isascii() or "\0" in value or len(value) > widths[name]
    ]
    if len(msg_id) != 8:
        faults.insert(0, "msg_id")
    if not 0 <= smsc_sequence <= 0xFFFFFFFF:
        faults.insert(1 if faults[:1] == ["msg_id"] else 0, "smsc_sequence")
    stat, submit_time, done_time, dest_terminal_id = texts.values()

    def content() -> bytes:
        return report_content(msg_id, stat, submit_time, done_time, dest_terminal_id, smsc_sequence, version)

    if faults:
        with pytest.raises(ValueError, match=faults[0]):
            content()
        return
    padded = [value.encode("ascii").ljust(widths[name], b"\0") for name, value in texts.items()]
    expected = b"".join((msg_id, *padded, smsc_sequence.to_bytes(4, "big")))
    assert content() == expected
    assert read_report(expected) == (msg_id, stat, submit_time, done_time, dest_terminal_id, smsc_sequence)


def test_octets_after_a_fields_nul_are_padding_whatever_they_are() -> None:
    content = bytearray(GOCMPP_REPORT_V20)
    content[35 + 12] = 0xFF  # inside Dest_terminal_Id, after its NUL
    assert parse_report(bytes(content)) == GOCMPP_REPORT
    content[35] = 0xFF
    with pytest.raises(ProtocolError, match="non-ASCII"):
        parse_report(bytes(content))


def test_report_times() -> None:
    assert format_report_time(datetime(2025, 1, 2, 3, 4, 59)) == "2501020304"
    assert parse_report_time("2501020304") == datetime(2025, 1, 2, 3, 4)
    assert parse_report_time("2513020304") is None
    assert parse_report_time("25010203") is None
    assert parse_report_time("") is None
