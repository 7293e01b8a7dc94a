import contextlib
from collections.abc import Callable

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
    report_content,
    report_fields,
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


# Field values as callers may pass them: mostly of their widths, sometimes not, or not ASCII.
def widths(width: int) -> st.SearchStrategy[str]:
    exact = st.text(st.characters(min_codepoint=0, max_codepoint=0x7F), min_size=width, max_size=width)
    return exact | st.text(max_size=width + 1)


@given(
    msg_id=st.binary(min_size=10, max_size=10) | st.binary(max_size=11),
    stat=widths(7),
    err=widths(3),
    submit_date=widths(10),
    done_date=widths(10),
    sub=widths(3),
    dlvrd=widths(3),
    text=st.binary(max_size=20) | st.binary(max_size=22),
)
def test_report_content_is_the_layout_or_names_the_field(
    msg_id: bytes, stat: str, err: str, submit_date: str, done_date: str, sub: str, dlvrd: str, text: bytes
) -> None:
    fields = {"sub": sub, "dlvrd": dlvrd, "submit date": submit_date, "done date": done_date}
    fields |= {"stat": stat, "err": err}
    # The first field at fault, by name; a value that is not ASCII fails as its encoding does.
    faults: list[str | None] = [
        None if not value.isascii() else name
        for name, value in fields.items()
        if not value.isascii() or len(value) != len(SHAPE[name])
    ]
    if len(text) > 20:
        faults.insert(0, "Text")
    if len(msg_id) != 10:
        faults.insert(0, "MsgID")

    def content() -> bytes:
        return report_content(msg_id, stat, err, submit_date, done_date, text, sub=sub, dlvrd=dlvrd)

    if faults:
        with pytest.raises(ValueError, match=faults[0]):
            content()
        return
    labelled = b"".join(b" %s:%s" % (name.encode(), value.encode()) for name, value in fields.items())
    assert content() == b"id:" + msg_id + labelled + b" Text:" + text.ljust(20, b"\0")


# The width of each field, as build_report writes it.
SHAPE = {
    "sub": "001",
    "dlvrd": "001",
    "submit date": SUBMIT,
    "done date": DONE,
    "stat": "DELIVRD",
    "err": "000",
}


@given(
    data=st.data(),
    # Bytes near the usual layout: each value replaced, perhaps, by other octets of any length.
    replaced=st.sets(st.sampled_from(["sub", "dlvrd", "submit date", "done date", "stat", "err"])),
    # Labels as written, or in the other cases gateways use.
    case=st.sampled_from([bytes, bytes.lower, bytes.upper]),
)
def test_report_fields_are_parse_reports(
    data: st.DataObject, replaced: set[str], case: Callable[[bytes], bytes]
) -> None:
    values = {name: value.encode() for name, value in SHAPE.items()}
    for name in replaced:
        values[name] = data.draw(st.binary(max_size=12), label=name)
    content = b"id:" + data.draw(st.binary(min_size=9, max_size=11) | st.just(MSG_ID), label="msg_id")
    content += b"".join(b" %s:%s" % (case(name.encode()), value) for name, value in values.items())
    content += data.draw(st.sampled_from([b" Text:005hello", b" Text:", b"", b" txt:x"]), label="text")
    try:
        report = parse_report(content)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            report_fields(content)
        return
    expected = (report.msg_id, report.stat, report.err, report.submit_date, report.done_date)
    assert report_fields(content) == expected


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
