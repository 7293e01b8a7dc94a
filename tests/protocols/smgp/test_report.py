import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smgp.pdu import MsgFormat
from smsplatform.protocols.smgp.report import (
    Stat,
    StatusReport,
    build_report,
    parse_report,
    report_text,
)

MSG_ID = bytes.fromhex("01006101161700012345")
SUBMIT, DONE = "2407052207", "2407052208"


def test_build_writes_the_smpp_receipt_layout_with_raw_msg_id() -> None:
    report = StatusReport(
        msg_id=MSG_ID,
        stat=Stat.DELIVERED,
        err="000",
        submit_date="2407052207",
        done_date="2407052208",
        text=b"005hello",
    )
    content = build_report(report)
    assert content == (
        b"id:\x01\x00\x61\x01\x16\x17\x00\x01\x23\x45"
        b" sub:001 dlvrd:001 submit date:2407052207 done date:2407052208 stat:DELIVRD err:000 Text:"
        b"005hello\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    )
    assert len(content) == 122
    assert parse_report(content) == report
    assert parse_report(content).delivered


@pytest.mark.parametrize(
    "content",
    [
        # Labels as various gateways spell them.
        b"id:" + MSG_ID + b" sub:001 dlvrd:001 Submit_date:2407052207 done_date:2407052208 Stat:UNDELIV"
        b" Err:004 Txt:",
        b"id:" + MSG_ID + b" sub:001  dlvrd:001 Submit_Date:2407052207 Done_Date:2407052208  Stat:UNDELIV"
        b"   err:004 text:",
        b"ID:"
        + MSG_ID
        + b" SUB:001 DLVRD:001 SUBMIT DATE:2407052207 DONE DATE:2407052208 STAT:UNDELIV ERR:004",
        # The MsgID written as its 20 digits instead of the raw octets.
        b"id:01006101161700012345 sub:001 dlvrd:001 submit date:2407052207 done date:2407052208"
        b" stat:UNDELIV err:004 Text:",
    ],
)
def test_parse_tolerates_gateway_spellings(content: bytes) -> None:
    report = parse_report(content)
    assert report.msg_id == MSG_ID
    assert (report.stat, report.err) == ("UNDELIV", "004")
    assert (report.submit_date, report.done_date) == ("2407052207", "2407052208")
    assert report.text == b""
    assert not report.delivered


def test_parse_strips_nul_padding_of_short_values() -> None:
    content = build_report(StatusReport(MSG_ID, stat="EXPIRED", submit_date=SUBMIT, done_date=DONE))
    content = content.replace(b"err:000", b"err:7\x00\x00")
    assert parse_report(content).err == "7"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello, this is an ordinary MO message",
        b"id:\x01\x02",
        b"id:" + MSG_ID + b" sub:001 stat:DELIVRD",
    ],
)
def test_parse_refuses_what_is_not_a_report(content: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_report(content)


@given(
    msg_id=st.binary(min_size=10, max_size=10),
    stat=st.sampled_from(list(Stat)),
    err=st.from_regex(r"\A[0-9]{3}\Z"),
    dates=st.tuples(st.from_regex(r"\A[0-9]{10}\Z"), st.from_regex(r"\A[0-9]{10}\Z")),
    text=st.binary(max_size=20).filter(lambda t: not t.endswith(b"\x00")),
)
def test_reports_round_trip(msg_id: bytes, stat: Stat, err: str, dates: tuple[str, str], text: bytes) -> None:
    report = StatusReport(msg_id, stat=stat, err=err, submit_date=dates[0], done_date=dates[1], text=text)
    assert parse_report(build_report(report)) == report


@given(st.binary(max_size=160))
def test_parse_of_any_bytes_only_ever_raises_protocol_error(content: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_report(b"id:" + content)


def test_build_refuses_fields_of_the_wrong_width() -> None:
    with pytest.raises(ValueError):
        build_report(StatusReport(MSG_ID, stat="DELIVERED", submit_date=SUBMIT, done_date=DONE))
    with pytest.raises(ValueError):
        build_report(StatusReport(MSG_ID, stat="DELIVRD", submit_date="24070522", done_date="2407052208"))
    with pytest.raises(ValueError):
        build_report(StatusReport(MSG_ID[:9], stat="DELIVRD", submit_date=SUBMIT, done_date=DONE))
    with pytest.raises(ValueError):
        build_report(StatusReport(MSG_ID, stat="DELIVRD", submit_date=SUBMIT, done_date=DONE, text=b"x" * 21))


def test_report_text_is_length_then_start_of_content() -> None:
    assert report_text(b"hello", MsgFormat.ASCII) == b"005hello"
    assert report_text(b"x" * 300, MsgFormat.BINARY) == b"300" + b"x" * 17


def test_report_text_never_splits_a_character() -> None:
    ucs2 = "短消息网关协议测试".encode("utf-16-be")  # 18 octets: 17 would split the ninth character
    assert report_text(ucs2, MsgFormat.UCS2) == b"018" + ucs2[:16]
    gbk = ("a" + "短消息网关协议测试").encode("gbk")  # 19 octets: "a" then two-octet characters
    assert report_text(gbk, MsgFormat.GB) == b"019" + gbk[:17]
    assert report_text(("ab" + "短消息网关协议测试").encode("gbk"), MsgFormat.GB)[3:] == b"ab" + gbk[1:15]
    four_octet = "😀".encode("gb18030") * 5  # 20 octets of four-octet sequences
    assert report_text(four_octet, MsgFormat.GB) == b"020" + four_octet[:16]
