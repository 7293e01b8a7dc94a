"""The CMPP simulator on the wire, driven by hand-made PDUs (digests computed here with hashlib)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from smsplatform.protocols.cmpp import codec
from smsplatform.protocols.cmpp.msgid import MsgIdGenerator, format_msg_id, parse_msg_id, unpack_msg_id
from smsplatform.protocols.cmpp.pdu import (
    ActiveTest,
    ActiveTestResp,
    Cancel,
    CancelResp,
    CmppVersion,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)
from smsplatform.protocols.cmpp.report import parse_report
from smsplatform.protocols.text import TextEncoding
from smsplatform.simulator.cmpp import DEFAULT_GATEWAY_ID, CmppDialect
from smsplatform.simulator.dialect import MoPart, Receipt, SubmitStatus
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator, dialect_for
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import eventually

SP_ID, SECRET = "901234", "s3cret"
TIMESTAMP = 1127120000  # 27 November, 12:00:00


def digest(source_addr: str = SP_ID, secret: str = SECRET, timestamp: int = TIMESTAMP) -> bytes:
    """AuthenticatorSource as the specification spells it out, independent of our auth module."""
    text = source_addr.encode() + b"\0" * 9 + secret.encode() + b"%010d" % timestamp
    return hashlib.md5(text).digest()


class Sp:
    """A raw SP client on our codec."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, version: CmppVersion
    ) -> None:
        self.reader, self.writer, self.version = reader, writer, version
        self.frames = codec.PduReader(version)

    @classmethod
    async def connect(cls, server: SmscServer[Any], version: CmppVersion = CmppVersion.V30) -> Sp:
        return cls(*await asyncio.open_connection("127.0.0.1", server.port), version)

    def send(self, pdu: Pdu) -> None:
        self.writer.write(codec.encode(pdu, self.version))

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
        return await asyncio.wait_for(self.reader.read(1), 2.0) == b""

    async def login(self, secret: str = SECRET) -> ConnectResp:
        connect = Connect(
            sequence=1,
            source_addr=SP_ID,
            authenticator_source=digest(secret=secret),
            version=self.version,
            timestamp=TIMESTAMP,
        )
        answer = await self.request(connect)
        assert isinstance(answer, ConnectResp)
        return answer

    def close(self) -> None:
        self.writer.close()


def submit(sequence: int, content: bytes, destination: str = "13800138000", **fields: Any) -> Submit:
    return Submit(
        sequence=sequence,
        registered_delivery=fields.pop("registered_delivery", 1),
        msg_fmt=fields.pop("msg_fmt", MsgFmt.ASCII),
        msg_src=SP_ID,
        src_id="1069000101",
        dest_terminal_ids=(destination,),
        msg_content=content,
        **fields,
    )


@pytest.fixture(params=[CmppVersion.V30, CmppVersion.V20], ids=["3.0", "2.0"])
def version(request: pytest.FixtureRequest) -> CmppVersion:
    return CmppVersion(request.param)


@pytest.fixture
async def smsc(version: CmppVersion) -> AsyncIterator[SmscServer[Any]]:
    name = "cmpp" if version is CmppVersion.V30 else "cmpp2"
    server = create_simulator(name, {SP_ID: SECRET}, LastDigitRule(delay=0.0))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


async def test_connect_proves_the_secret_back(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    answer = await sp.login()
    status = (0).to_bytes(4 if version is CmppVersion.V30 else 1, "big")
    assert (answer.status, answer.version, answer.sequence) == (0, version, 1)
    assert answer.authenticator_ismg == hashlib.md5(status + digest() + SECRET.encode()).digest()
    assert smsc.counters.binds == 1
    sp.close()


@pytest.mark.parametrize(
    ("source_addr", "secret", "status"), [(SP_ID, "guess", 3), ("999999", SECRET, 2)], ids=["secret", "sp"]
)
async def test_bad_login_is_refused_and_closed(
    smsc: SmscServer[Any], version: CmppVersion, source_addr: str, secret: str, status: int
) -> None:
    sp = await Sp.connect(smsc, version)
    connect = Connect(
        sequence=1,
        source_addr=source_addr,
        authenticator_source=digest(source_addr, secret),
        version=version,
        timestamp=TIMESTAMP,
    )
    answer = await sp.request(connect)
    assert isinstance(answer, ConnectResp)
    assert (answer.status, answer.authenticator_ismg) == (status, bytes(16))
    assert await sp.closed() and smsc.counters.bind_failures == 1


async def test_other_version_is_refused(smsc: SmscServer[Any], version: CmppVersion) -> None:
    other = CmppVersion.V20 if version is CmppVersion.V30 else CmppVersion.V30
    sp = await Sp.connect(smsc, version)
    connect = Connect(
        sequence=1, source_addr=SP_ID, authenticator_source=digest(), version=other, timestamp=TIMESTAMP
    )
    answer = await sp.request(connect)
    assert isinstance(answer, ConnectResp)
    assert (answer.status, answer.version) == (4 if other > version else 5, version)
    sp.close()


async def test_connect_twice_is_refused_without_closing(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    again = await sp.login()
    assert again.status == 5
    assert await sp.request(ActiveTest(sequence=9)) == ActiveTestResp(sequence=9)
    sp.close()


async def test_submit_before_connect_is_refused(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    answer = await sp.request(submit(1, b"hi"))
    assert isinstance(answer, SubmitResp) and answer.result == 2
    sp.close()


async def test_submit_gets_msg_id_and_a_report_quoting_it(
    smsc: SmscServer[Any], version: CmppVersion
) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    before = datetime.now()
    answer = await sp.request(submit(2, b"hello", destination="13800138007"))
    after = datetime.now()
    assert isinstance(answer, SubmitResp) and (answer.sequence, answer.result) == (2, 0)
    parts = unpack_msg_id(answer.msg_id)
    assert (parts.month, parts.day, parts.gateway_id) == (before.month, before.day, 100001)
    assert smsc.received[0].message_ids == (format_msg_id(answer.msg_id),)

    report_pdu = await sp.receive()
    assert isinstance(report_pdu, Deliver) and report_pdu.registered_delivery == 1
    assert (report_pdu.dest_id, report_pdu.src_terminal_id) == ("1069000101", "13800138007")
    report = parse_report(report_pdu.msg_content)
    assert len(report_pdu.msg_content) == (71 if version is CmppVersion.V30 else 60)
    assert (report.msg_id, report.stat, report.dest_terminal_id) == (answer.msg_id, "UNDELIV", "13800138007")
    assert report.submit_time in {before.strftime("%y%m%d%H%M"), after.strftime("%y%m%d%H%M")}
    sp.send(DeliverResp(sequence=report_pdu.sequence, msg_id=report_pdu.msg_id, result=0))
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    sp.close()


async def test_refused_report_is_sent_again(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    answer = await sp.request(submit(2, b"hello"))
    assert isinstance(answer, SubmitResp)
    first = await sp.receive()
    assert isinstance(first, Deliver)
    sp.send(DeliverResp(sequence=first.sequence, msg_id=first.msg_id, result=8))
    second = await sp.receive()
    assert isinstance(second, Deliver) and second.sequence != first.sequence
    assert parse_report(second.msg_content).msg_id == answer.msg_id
    sp.close()


async def test_no_report_unless_asked(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    await sp.request(submit(2, b"quiet", registered_delivery=0))
    await sp.request(submit(3, b"loud"))
    report = await sp.receive()
    assert isinstance(report, Deliver) and smsc.counters.receipts_sent == 1
    sp.close()


async def test_long_messages_with_udh_or_pk_fields(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    text = "长短信" * 30
    raw = text.encode("utf-16-be")
    halves = [raw[:90], raw[90:]]
    ids = []
    for number, half in enumerate(halves, start=1):
        udh = bytes((5, 0, 3, 0x42, 2, number))
        segment = submit(
            1 + number,
            udh + half,
            tp_udhi=1,
            msg_fmt=MsgFmt.UCS2,
            pk_total=2,
            pk_number=number,
            registered_delivery=0,
        )
        answer = await sp.request(segment)
        assert isinstance(answer, SubmitResp) and answer.result == 0
        ids.append(format_msg_id(answer.msg_id))
    for number, part in enumerate([b"Hello ", b"world"], start=1):  # Pk_total/Pk_number alone
        await sp.request(submit(10 + number, part, registered_delivery=0, pk_total=2, pk_number=number))
    assert [m.text for m in smsc.received] == [text, "Hello world"]
    assert smsc.received[0].message_ids == tuple(ids) and len(smsc.received[1].message_ids) == 2
    sp.close()


async def test_gbk_submit_is_decoded(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    await sp.request(submit(2, "验证码".encode("gbk"), msg_fmt=MsgFmt.GBK))
    assert smsc.received[0].text == "验证码"
    sp.close()


async def test_throttled_malformed_and_group_submits(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    smsc.throttle(1)
    throttled = await sp.request(submit(2, b"x"))
    assert isinstance(throttled, SubmitResp) and (throttled.result, throttled.msg_id) == (8, bytes(8))
    group = Submit(
        sequence=3, msg_src=SP_ID, dest_terminal_ids=("13800138000", "13800138001"), msg_content=b"x"
    )
    refused = await sp.request(group)
    assert isinstance(refused, SubmitResp) and refused.result == 1
    frame = bytearray(codec.encode(submit(4, b"x"), version))
    frame[-(1 + 1 + (20 if version is CmppVersion.V30 else 8))] = 200  # Msg_Length past the frame's end
    sp.writer.write(bytes(frame))
    malformed = await sp.receive()
    assert isinstance(malformed, SubmitResp) and (malformed.sequence, malformed.result) == (4, 1)
    assert smsc.counters.submits == 0 and smsc.counters.throttled == 1
    sp.close()


async def test_mo_ascii_ucs2_and_long(smsc: SmscServer[Any], version: CmppVersion) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    smsc.inject_mo("13900139000", "1069000101", "TD")
    smsc.inject_mo("13900139000", "1069000101", "你" * 71)
    received = [await sp.receive() for _ in range(3)]
    delivers = [d for d in received if isinstance(d, Deliver) and d.registered_delivery == 0]
    assert len(delivers) == 3
    short, *long_ = delivers
    assert (short.msg_fmt, short.tp_udhi, short.msg_content) == (MsgFmt.ASCII, 0, b"TD")
    assert (short.src_terminal_id, short.dest_id) == ("13900139000", "1069000101")
    assert [(d.msg_fmt, d.tp_udhi, d.msg_content[4:6]) for d in long_] == [
        (8, 1, b"\x02\x01"),
        (8, 1, b"\x02\x02"),
    ]
    assert len({d.msg_id for d in delivers}) == 3
    for d in delivers:
        sp.send(DeliverResp(sequence=d.sequence, msg_id=d.msg_id, result=0))
    await eventually(lambda: smsc.counters.mo_acked == 3)
    sp.close()


async def test_active_test_terminate_and_unsupported_requests(
    smsc: SmscServer[Any], version: CmppVersion
) -> None:
    sp = await Sp.connect(smsc, version)
    await sp.login()
    assert await sp.request(ActiveTest(sequence=5)) == ActiveTestResp(sequence=5)
    assert smsc.ping() == 1
    ping = await sp.receive()
    assert isinstance(ping, ActiveTest)
    sp.send(ActiveTestResp(sequence=ping.sequence))
    assert await sp.request(Cancel(sequence=6, msg_id=bytes(8))) == CancelResp(sequence=6, success_id=1)
    assert await sp.request(Terminate(sequence=7)) == TerminateResp(sequence=7)
    assert await sp.closed()
    assert smsc.counters.link_tests_answered == 1
    sp.close()


def test_options() -> None:
    dialect = dialect_for("cmpp", {"version": "2.0", "gateway_id": "7", "mo_encoding": "gbk"})
    assert isinstance(dialect, CmppDialect) and dialect.version is CmppVersion.V20
    assert unpack_msg_id(parse_msg_id(dialect.message_id(1))).gateway_id == 7
    assert dialect.mo_encoding("退订") == "gbk" and dialect.mo_encoding("TD") == "ascii"
    cmpp2 = dialect_for("cmpp2")
    assert isinstance(cmpp2, CmppDialect) and cmpp2.version is CmppVersion.V20
    with pytest.raises(ValueError, match="version"):
        dialect_for("cmpp", {"version": "1.0"})


def test_frames_are_the_pdus_encoded(version: CmppVersion) -> None:
    dialect = CmppDialect(version)
    request = submit(9, b"hi")
    for status in SubmitStatus:
        for message_id in ("", dialect.message_id(1)):
            frame = dialect.submit_response_frame(request, message_id, status)
            assert frame == dialect.encode(dialect.submit_response(request, message_id, status))
    receipt = Receipt(
        message_id=dialect.message_id(2),
        source="1069000101",
        destination="13800138000",
        stat="UNDELIV",
        err="",
        submit_time=TIMESTAMP,
        done_time=TIMESTAMP + 61,
        text_head="hi",
    )
    mo = MoPart(
        "13800138000",
        "1069000101",
        b"\x05\x00\x03\x01\x02\x01" + "退订".encode("gbk"),
        TextEncoding.GBK,
        True,
    )
    for item in (receipt, mo):
        # Each deliver has a Msg_Id of its own: the same generator state for both ways of writing it.
        dialect._ids = MsgIdGenerator(DEFAULT_GATEWAY_ID)
        key, frame = dialect.deliver_frame(3, item)
        dialect._ids = MsgIdGenerator(DEFAULT_GATEWAY_ID)
        assert (key, frame) == (3, dialect.encode(dialect.deliver(3, item)))


def test_a_deliver_the_wire_cannot_carry_is_refused_with_the_codecs_reason(version: CmppVersion) -> None:
    dialect = CmppDialect(version)
    mo = MoPart("1" * 33, "1069000101", b"hi", TextEncoding.ASCII, False)
    with pytest.raises(ValueError, match="src_terminal_id"):
        dialect.deliver_frame(3, mo)
    receipt = Receipt(dialect.message_id(1), "1069000101", "1" * 33, "DELIVRD", "", 0.0, 0.0, "")
    with pytest.raises(ValueError, match="dest_terminal_id"):  # the report's, checked first
        dialect.deliver_frame(4, receipt)
