"""The SMGP 3.0 simulator on the wire, driven by hand-made PDUs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from smsplatform.protocols.concat import build_concat_udh
from smsplatform.protocols.smgp import codec
from smsplatform.protocols.smgp.auth import client_authenticator, login_timestamp, verify_server_authenticator
from smsplatform.protocols.smgp.msgid import MsgIdGenerator, format_msg_id, msg_id_parts
from smsplatform.protocols.smgp.pdu import (
    ActiveTest,
    ActiveTestResp,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginResp,
    MsgFormat,
    Pdu,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.smgp.report import parse_report
from smsplatform.protocols.smgp.tlv import Tlv, TlvTag, udhi_tlv
from smsplatform.protocols.text import TextEncoding
from smsplatform.simulator.dialect import MoPart, Receipt, SubmitStatus
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator, dialect_for
from smsplatform.simulator.server import SmscServer
from smsplatform.simulator.smgp import DEFAULT_GATEWAY_CODE, SmgpDialect
from tests.connectors.conftest import eventually

SECRET = "shared-secret"


class Sp:
    """A raw SMGP client on our codec."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.frames = reader, writer, codec.PduReader()

    @classmethod
    async def connect(cls, server: SmscServer[Any]) -> Sp:
        return cls(*await asyncio.open_connection("127.0.0.1", server.port))

    def send(self, pdu: Pdu) -> None:
        self.writer.write(codec.encode(pdu))

    async def request(self, pdu: Pdu) -> Pdu:
        self.send(pdu)
        return await self.receive()

    async def receive(self) -> Pdu:
        while (pdu := self.frames.next_pdu()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), 2.0)
            assert data, "closed"
            self.frames.receive_data(data)
        return pdu

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(65536), 2.0) == b""

    async def log_in(self, secret: str = SECRET, mode: int = 2, sequence: int = 1) -> LoginResp:
        timestamp = login_timestamp(datetime.now())
        answer = await self.request(
            Login(
                sequence,
                client_id="sp01",
                authenticator_client=client_authenticator("sp01", secret, timestamp),
                login_mode=mode,
                timestamp=timestamp,
            )
        )
        assert isinstance(answer, LoginResp)
        return answer

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("smgp", {"sp01": SECRET}, LastDigitRule(delay=0.0))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


def submit(sequence: int, destination: str = "13300133000", **fields: Any) -> Submit:
    return Submit(sequence, src_term_id="10690001", dest_term_ids=(destination,), **fields)


async def test_login_proves_the_secret_both_ways(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    timestamp = login_timestamp(datetime.now())
    authenticator = client_authenticator("sp01", SECRET, timestamp)
    answer = await sp.request(Login(1, "sp01", authenticator, login_mode=2, timestamp=timestamp))
    assert isinstance(answer, LoginResp) and answer.status == 0 and answer.server_version == 0x30
    assert verify_server_authenticator(0, authenticator, SECRET, answer.authenticator_server)
    again = await sp.log_in(sequence=2)
    assert again.status == 11  # one Login per connection
    sp.close()


@pytest.mark.parametrize(("client_id", "secret"), [("sp01", "guess"), ("nobody", SECRET)])
async def test_bad_login_gets_21_and_is_closed(smsc: SmscServer[Any], client_id: str, secret: str) -> None:
    sp = await Sp.connect(smsc)
    timestamp = login_timestamp(datetime.now())
    authenticator = client_authenticator(client_id, secret, timestamp)
    answer = await sp.request(Login(1, client_id, authenticator, timestamp=timestamp))
    assert isinstance(answer, LoginResp)
    assert (answer.status, answer.authenticator_server) == (21, bytes(16))
    assert await sp.closed()
    assert smsc.counters.bind_failures == 1


async def test_submit_gets_a_msgid_and_a_report(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    answer = await sp.request(submit(2, "13300133007", msg_content=b"hello world"))
    assert isinstance(answer, SubmitResp) and answer.status == 0
    parts = msg_id_parts(answer.msg_id)
    assert parts.gateway_code == "010061" and parts.sequence == 0

    report = await sp.receive()
    assert isinstance(report, Deliver) and (report.is_report, report.msg_format) == (1, MsgFormat.ASCII)
    assert (report.src_term_id, report.dest_term_id) == ("13300133007", "10690001")
    assert len(report.recv_time) == 14 and report.msg_id != answer.msg_id
    content = parse_report(report.msg_content)
    assert (content.msg_id, content.stat, content.err, content.dlvrd) == (
        answer.msg_id,
        "UNDELIV",
        "005",
        "000",
    )
    assert content.text == b"011hello world"  # quoted length, then the start
    sp.send(DeliverResp(report.sequence, msg_id=report.msg_id))
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert [(m.text, m.message_ids) for m in smsc.received] == [
        ("hello world", (format_msg_id(answer.msg_id),))
    ]
    sp.close()


async def test_no_report_unless_asked(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    assert isinstance(await sp.request(submit(2, need_report=0, msg_content=b"x")), SubmitResp)
    asked = await sp.request(submit(3, msg_content=b"y"))
    assert isinstance(asked, SubmitResp)
    report = await sp.receive()  # reports leave in order: one for the first would come before
    assert isinstance(report, Deliver) and parse_report(report.msg_content).msg_id == asked.msg_id
    assert smsc.counters.receipts_sent == 1
    sp.close()


async def test_refused_report_is_delivered_again(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    await sp.request(submit(2, msg_content=b"x"))
    first = await sp.receive()
    assert isinstance(first, Deliver)
    sp.send(DeliverResp(first.sequence, msg_id=first.msg_id, status=1))
    second = await sp.receive()
    assert isinstance(second, Deliver) and second.msg_content == first.msg_content
    sp.send(DeliverResp(second.sequence, msg_id=second.msg_id))
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    sp.close()


@pytest.mark.parametrize(
    ("msg_format", "content", "text"),
    [
        (MsgFormat.ASCII, b"Code 1234", "Code 1234"),
        (MsgFormat.UCS2, "验证码".encode("utf-16-be"), "验证码"),
        (MsgFormat.GB, "验证码".encode("gbk"), "验证码"),
        (MsgFormat.BINARY, b"\x01\xff", "\x01ÿ"),  # not text: shown octet by octet
    ],
)
async def test_msg_formats_are_read(
    smsc: SmscServer[Any], msg_format: int, content: bytes, text: str
) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    await sp.request(submit(2, need_report=0, msg_format=msg_format, msg_content=content))
    assert smsc.received[0].text == text
    sp.close()


async def test_long_message_by_header_or_by_pk_tlvs(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    pk = [(Tlv.uint8(TlvTag.PK_TOTAL, 2), Tlv.uint8(TlvTag.PK_NUMBER, n), udhi_tlv(False)) for n in (1, 2)]
    header = [(udhi_tlv(), Tlv.uint8(TlvTag.PK_TOTAL, 2), Tlv.uint8(TlvTag.PK_NUMBER, n)) for n in (1, 2)]
    ids = []
    for sequence, (content, tlvs) in enumerate(
        [
            (build_concat_udh(9, 2, 1) + b"Hello ", header[0]),
            (b"first ", pk[0]),
            (build_concat_udh(9, 2, 2) + b"world", header[1]),
            (b"second", pk[1]),
        ],
        start=2,
    ):
        answer = await sp.request(submit(sequence, need_report=0, msg_content=content, tlvs=tlvs))
        assert isinstance(answer, SubmitResp) and answer.status == 0
        ids.append(format_msg_id(answer.msg_id))
    assert [(m.text, m.message_ids) for m in smsc.received] == [
        ("Hello world", (ids[0], ids[2])),
        ("first second", (ids[1], ids[3])),
    ]
    sp.close()


async def test_refusals(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in(mode=1)  # receive only
    on_receiver = await sp.request(submit(2, msg_content=b"x"))
    assert isinstance(on_receiver, SubmitResp) and on_receiver.status == 11
    sp.close()
    sp = await Sp.connect(smsc)
    await sp.log_in(mode=0)
    group = await sp.request(Submit(2, dest_term_ids=("13300133000", "13300133001"), msg_content=b"x"))
    assert isinstance(group, SubmitResp) and (group.status, group.msg_id) == (10, bytes(10))
    smsc.throttle(1)
    busy = await sp.request(submit(3, msg_content=b"x"))
    assert isinstance(busy, SubmitResp) and busy.status == 1
    stray = await sp.request(Deliver(4, msg_id=bytes(10)))
    assert stray == DeliverResp(4, status=11)
    broken = codec.encode(submit(5, msg_content=b"x"))[:-20]  # body cut short
    sp.writer.write(len(broken).to_bytes(4, "big") + broken[4:])
    assert await sp.receive() == SubmitResp(5, status=10)
    assert smsc.counters.submits == 0
    sp.close()


async def test_mo_as_deliver(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    smsc.inject_mo("13300133000", "1069000123", "TD")
    smsc.inject_mo("13300133000", "1069000123", "你" * 71)  # 142 UCS-2 octets: two parts
    short = await sp.receive()
    assert isinstance(short, Deliver)
    assert (short.is_report, short.msg_format, short.msg_content, short.udhi) == (0, 0, b"TD", False)
    assert (short.src_term_id, short.dest_term_id) == ("13300133000", "1069000123")
    parts = [await sp.receive(), await sp.receive()]
    assert all(isinstance(p, Deliver) and p.udhi and p.msg_format == MsgFormat.UCS2 for p in parts)
    for pdu in (short, *parts):
        assert isinstance(pdu, Deliver)
        sp.send(DeliverResp(pdu.sequence, msg_id=pdu.msg_id))
    await eventually(lambda: smsc.counters.mo_acked == 3)
    sp.close()


async def test_active_test_and_exit(smsc: SmscServer[Any]) -> None:
    sp = await Sp.connect(smsc)
    await sp.log_in()
    assert await sp.request(ActiveTest(2)) == ActiveTestResp(2)
    assert smsc.ping() == 1
    ping = await sp.receive()
    assert isinstance(ping, ActiveTest)
    sp.send(ActiveTestResp(ping.sequence))
    await eventually(lambda: smsc.counters.link_tests_answered == 1)
    assert await sp.request(Exit(3)) == ExitResp(3)
    assert await sp.closed()


def test_options() -> None:
    dialect = dialect_for("smgp", {"gateway_code": "075506"})
    assert dialect.message_id(1).startswith("075506")
    assert dialect.mo_encoding("退订") == "ucs2"
    assert dialect_for("smgp", {"mo_encoding": "gbk"}).mo_encoding("退订") == "gbk"
    assert dialect.mo_encoding("TD") == "ascii"
    with pytest.raises(ValueError):
        dialect_for("smgp", {"gateway_code": "12"})
    with pytest.raises(ValueError):
        dialect_for("smgp", {"mo_encoding": "latin1"})


def test_frames_are_the_pdus_encoded() -> None:
    dialect = SmgpDialect()
    request = submit(9)
    for status in SubmitStatus:
        message_id = dialect.message_id(1)
        frame = dialect.submit_response_frame(request, message_id, status)
        assert frame == codec.encode(dialect.submit_response(request, message_id, status))
    receipt = Receipt(dialect.message_id(2), "10690001", "13300133000", "UNDELIV", "004", 0.0, 61.0, "hi")
    mo = MoPart(
        "13300133000", "10690001", build_concat_udh(7, 2, 1) + "退订".encode("gbk"), TextEncoding.GBK, True
    )
    for item in (receipt, mo):
        # Each Deliver has a MsgID of its own: the same generator state for both ways of writing it.
        dialect._ids = MsgIdGenerator(DEFAULT_GATEWAY_CODE)
        key, frame = dialect.deliver_frame(3, item)
        dialect._ids = MsgIdGenerator(DEFAULT_GATEWAY_CODE)
        assert (key, frame) == (3, codec.encode(dialect.deliver(3, item)))


def test_a_deliver_the_wire_cannot_carry_is_refused_with_the_codecs_reason() -> None:
    dialect = SmgpDialect()
    with pytest.raises(ValueError, match="SrcTermID"):
        dialect.deliver_frame(3, MoPart("1" * 22, "10690001", b"hi", TextEncoding.ASCII, False))
