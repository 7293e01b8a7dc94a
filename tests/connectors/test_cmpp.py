"""The CMPP 2.0/3.0 connector against the CMPP simulator over loopback (and a scripted ISMG)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.adapter import AckStatus
from smsplatform.connectors.cmpp import CmppAdapter
from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.protocols.cmpp import codec
from smsplatform.protocols.cmpp.auth import authenticator_ismg
from smsplatform.protocols.cmpp.msgid import format_msg_id
from smsplatform.protocols.cmpp.pdu import (
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
from smsplatform.protocols.cmpp.report import StatusReport, build_report
from smsplatform.protocols.errors import ProtocolError
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import FAST, eventually

SP_ID, SECRET = "901234", "s3cret"
CHINESE_170 = "您好，这是一条很长的中文短信，用来检查长短信的拆分与重组是否正确。" * 5 + "谢谢配合！"
CMPP = replace(FAST, name="cmpp-link", protocol="cmpp", system_id=SP_ID, password=SECRET)

Link = Callable[..., Awaitable[Connector]]


@pytest.fixture(params=["cmpp", "cmpp2"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def smsc(protocol: str) -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator(protocol, {SP_ID: SECRET}, LastDigitRule(delay=0.01))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def link(smsc: SmscServer[Any], protocol: str) -> AsyncIterator[Link]:
    started: list[Connector] = []

    async def factory(bound: bool = True, **changes: Any) -> Connector:
        config = replace(CMPP, **{"protocol": protocol, "port": smsc.port, **changes})
        connector = create_connector(config)
        started.append(connector)
        await connector.start()
        if bound:
            assert await connector.wait_bound(2.0)
        return connector

    yield factory
    for connector in started:
        await connector.stop()


def sms(
    key: int = 1, text: str = "Your code is 1234", destination: str = "13800138000", **kw: Any
) -> OutboundSms:
    return OutboundSms(key=key, source="106900010123", destination=destination, text=text, **kw)


def adapter(**extra: str) -> CmppAdapter:
    return CmppAdapter(replace(CMPP, extra=extra))


def submits(a: CmppAdapter, message: OutboundSms) -> list[Submit]:
    sequences = iter(range(1, 1000))
    pdus = a.build_submits(message, lambda: next(sequences))
    assert all(isinstance(p, Submit) for p in pdus)
    return [p for p in pdus if isinstance(p, Submit)]


# -- against the simulator ------------------------------------------------------------------------


async def test_submit_gets_msg_id_and_reports_for_delivered_and_failed(
    smsc: SmscServer[Any], link: Link
) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    delivered, undelivered = await asyncio.gather(
        connector.submit(sms(key=1, destination="13800138000")),
        connector.submit(sms(key=2, destination="13800138007")),
    )

    assert delivered.ok and undelivered.ok
    assert {m.message_ids for m in smsc.received} == {delivered.remote_ids, undelivered.remote_ids}
    await eventually(lambda: len(reports) == 2)
    by_id = {r.remote_id: r for r in reports}
    ok, failed = by_id[delivered.remote_ids[0]], by_id[undelivered.remote_ids[0]]
    assert (ok.stat, ok.err, ok.destination, ok.connector) == ("DELIVRD", "", "13800138000", "cmpp-link")
    assert (failed.stat, failed.err, failed.destination) == ("UNDELIV", "UNDELIV", "13800138007")
    assert len(ok.submit_time) == len(ok.done_time) == 10 and ok.submit_time.isdigit()
    await eventually(lambda: smsc.counters.receipts_acked == 2)


async def test_no_report_asked_none_sent(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    assert (await connector.submit(sms(want_receipt=False))).ok
    assert (await connector.submit(sms(key=2))).ok
    await eventually(lambda: len(reports) == 1)  # receipts leave in order: the first's would be here
    assert smsc.counters.receipts_sent == 1


async def test_long_ucs2_message_in_three_segments(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    result = await connector.submit(sms(text=CHINESE_170, destination="13800138008"))

    assert result.ok and len(result.remote_ids) == 3 and len(set(result.remote_ids)) == 3
    assert [(m.text, m.message_ids) for m in smsc.received] == [(CHINESE_170, result.remote_ids)]
    await eventually(lambda: len(reports) == 3)
    assert sorted(r.remote_id for r in reports) == sorted(result.remote_ids)
    assert {r.stat for r in reports} == {"EXPIRED"}


async def test_gbk_and_ascii_reach_the_ismg_intact(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(extra={"encoding": "gbk"})
    assert (await connector.submit(sms(key=1, text="验证码 1234"))).ok
    assert (await connector.submit(sms(key=2, text="code 1234 " * 20))).ok  # ASCII, two segments
    assert [m.text for m in smsc.received] == ["验证码 1234", "code 1234 " * 20]


async def test_mo_short_and_long_become_inbound(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    inbound: list[InboundSms] = []
    connector.on_inbound = inbound.append

    smsc.inject_mo("13900139000", "106900010123", "TD")
    smsc.inject_mo("13900139001", "106900010123", CHINESE_170)

    await eventually(lambda: len(inbound) == 2)
    assert inbound[0] == InboundSms("13900139000", "106900010123", "TD", "cmpp-link")
    assert inbound[1] == InboundSms("13900139001", "106900010123", CHINESE_170, "cmpp-link")
    await eventually(lambda: smsc.counters.mo_acked == 4)


async def test_gbk_mo_is_decoded(protocol: str, link: Link) -> None:
    server = create_simulator(protocol, {SP_ID: SECRET}, options={"mo_encoding": "gbk"})
    await server.start()
    try:
        connector = await link(port=server.port)
        inbound: list[InboundSms] = []
        connector.on_inbound = inbound.append
        server.inject_mo("13900139000", "1069000101", "退订")
        await eventually(lambda: len(inbound) == 1)
        assert inbound[0].text == "退订"
    finally:
        await server.close()


async def test_report_is_acknowledged_only_after_the_handler(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    first = await connector.submit(sms())
    connector.on_report = lambda report: stored if report.remote_id == first.remote_ids[0] else None
    assert first.ok and (await connector.submit(sms(key=2))).ok
    # The second report, stored at once, is acknowledged; the first, taken before it, still is not.
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert smsc.pending_delivers(SP_ID) == 1
    stored.set_result(None)
    await eventually(lambda: smsc.counters.receipts_acked == 2)


async def test_failing_handler_gets_the_report_again(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    calls: list[DeliveryReport] = []

    def flaky(report: DeliveryReport) -> None:
        calls.append(report)
        if len(calls) == 1:
            raise RuntimeError("store down")

    connector.on_report = flaky
    assert (await connector.submit(sms())).ok
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert len(calls) == 2 and calls[0] == calls[1]


async def test_active_test_both_ways(smsc: SmscServer[Any], link: Link) -> None:
    await link(enquire_interval=0.05)
    await eventually(lambda: smsc.counters.link_tests_received >= 1)
    assert smsc.ping() == 1
    await eventually(lambda: smsc.counters.link_tests_answered == 1)


async def test_flow_control_is_transient(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.throttle(1)
    throttled = await connector.submit(sms(key=1))
    assert (throttled.ok, throttled.transient, throttled.maybe_sent, throttled.error) == (
        False,
        True,
        False,
        "8",
    )
    assert (await connector.submit(sms(key=2))).ok


async def test_unanswered_submit_is_sent_three_times_then_times_out(
    smsc: SmscServer[Any], link: Link
) -> None:
    connector = await link(response_timeout=0.05)
    smsc.drop_responses(1.0)
    lost = await connector.submit(sms())
    assert (lost.ok, lost.transient, lost.maybe_sent, lost.error) == (False, True, True, "timeout")
    assert smsc.counters.dropped_responses == 3  # the spec's N=3 sends of one request


async def test_dropped_connection_reconnects(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.3)
    pending = [asyncio.create_task(connector.submit(sms(key=k))) for k in range(3)]
    await eventually(lambda: connector.stats().in_flight == 3)

    smsc.drop_connections()

    results = await asyncio.gather(*pending)
    assert all(not r.ok and r.transient and r.maybe_sent for r in results)
    smsc.clear_faults()
    assert await connector.wait_bound(2.0)
    assert (await connector.submit(sms(key=9))).ok
    assert connector.stats().reconnects == 1 and smsc.counters.binds == 2


async def test_wrong_secret_fails_the_bind(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bound=False, password="guess")
    await eventually(lambda: connector.stats().last_error == "bind refused: status 3 (authentication failed)")
    assert smsc.counters.bind_failures >= 1 and connector.stats().state != "bound"


async def test_unknown_sp_id_fails_the_bind(link: Link) -> None:
    connector = await link(bound=False, system_id="999999")
    await eventually(lambda: connector.stats().last_error == "bind refused: status 2 (unknown Source_Addr)")


async def test_sp_id_too_long_is_reported_not_raised(link: Link) -> None:
    connector = await link(bound=False, system_id="12345678")
    await eventually(lambda: connector.stats().last_error.startswith("cannot send the bind"))


async def test_version_mismatch_fails_the_bind(smsc: SmscServer[Any], link: Link, protocol: str) -> None:
    other = "2.0" if protocol == "cmpp" else "3.0"
    connector = await link(bound=False, extra={"version": other})
    await eventually(lambda: connector.stats().last_error.startswith("bind refused: status"))
    assert connector.stats().state != "bound"


async def test_one_session_even_when_asked_for_two(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bind_mode=BindMode.TRANSMITTER_RECEIVER)
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    assert (await connector.submit(sms())).ok
    await eventually(lambda: len(reports) == 1)
    assert len(smsc.sessions) == 1


async def test_source_number_too_long_is_a_permanent_failure(link: Link) -> None:
    connector = await link()
    result = await connector.submit(replace(sms(), source="1" * 22))
    assert (result.ok, result.transient, result.maybe_sent) == (False, False, False)
    assert result.error.startswith("invalid message")
    assert (await connector.submit(sms())).ok


async def test_stop_terminates(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.1)
    pending = asyncio.create_task(connector.submit(sms()))
    await eventually(lambda: connector.stats().in_flight == 1)
    await connector.stop()
    assert (await pending).ok
    await eventually(lambda: not smsc.sessions)
    assert connector.stats().state == "stopped"


# -- against a scripted ISMG ----------------------------------------------------------------------


class ScriptedIsmg:
    """An ISMG on our codec whose every PDU a test sees and answers by hand."""

    def __init__(self, version: CmppVersion = CmppVersion.V30) -> None:
        self.version = version
        self.connections: asyncio.Queue[tuple[codec.PduReader, asyncio.StreamReader, asyncio.StreamWriter]]
        self.connections = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.connections.put((codec.PduReader(self.version), reader, writer))

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def receive(conn: tuple[codec.PduReader, asyncio.StreamReader, asyncio.StreamWriter]) -> Pdu | None:
    frames, reader, _ = conn
    while (pdu := frames.next_pdu()) is None:
        data = await asyncio.wait_for(reader.read(65536), 2.0)
        if not data:
            return None
        frames.receive_data(data)
    return pdu


def answer_connect(pdu: Pdu, secret: str = SECRET, version: CmppVersion = CmppVersion.V30) -> ConnectResp:
    assert isinstance(pdu, Connect)
    proof = authenticator_ismg(0, pdu.authenticator_source, secret, version)
    return ConnectResp(sequence=pdu.sequence, status=0, authenticator_ismg=proof, version=version)


@pytest.fixture
async def ismg() -> AsyncIterator[ScriptedIsmg]:
    server = ScriptedIsmg()
    yield server
    await server.close()


async def test_login_digest_and_terminate_on_stop(ismg: ScriptedIsmg) -> None:
    connector = create_connector(replace(CMPP, port=await ismg.start(), stop_timeout=0.1))
    await connector.start()
    conn = await ismg.connections.get()
    connect = await receive(conn)
    assert isinstance(connect, Connect) and connect.source_addr == SP_ID and connect.version == 0x30
    assert 101000000 <= connect.timestamp <= 1231235959
    conn[2].write(codec.encode(answer_connect(connect), CmppVersion.V30))
    assert await connector.wait_bound(2.0)

    stopping = asyncio.create_task(connector.stop())
    terminate = await receive(conn)
    assert isinstance(terminate, Terminate)
    conn[2].write(codec.encode(TerminateResp(sequence=terminate.sequence), CmppVersion.V30))
    await stopping
    assert await receive(conn) is None  # the SP closed the connection


async def test_foreign_authenticator_ismg_fails_the_bind(ismg: ScriptedIsmg) -> None:
    connector = create_connector(replace(CMPP, port=await ismg.start(), stop_timeout=0.1))
    await connector.start()
    try:
        conn = await ismg.connections.get()
        connect = await receive(conn)
        assert connect is not None
        conn[2].write(codec.encode(answer_connect(connect, secret="not ours"), CmppVersion.V30))
        await eventually(lambda: connector.stats().last_error.startswith("bind refused: AuthenticatorISMG"))
        assert connector.stats().state != "bound"
    finally:
        await connector.stop()


async def test_ismg_terminate_is_answered_and_the_link_comes_back(ismg: ScriptedIsmg) -> None:
    connector = create_connector(replace(CMPP, port=await ismg.start(), stop_timeout=0.1))
    await connector.start()
    try:
        conn = await ismg.connections.get()
        connect = await receive(conn)
        assert connect is not None
        conn[2].write(codec.encode(answer_connect(connect), CmppVersion.V30))
        assert await connector.wait_bound(2.0)
        conn[2].write(codec.encode(Terminate(sequence=77), CmppVersion.V30))
        assert await receive(conn) == TerminateResp(sequence=77)
        assert await receive(conn) is None
        again = await ismg.connections.get()
        assert isinstance(await receive(again), Connect)
    finally:
        await connector.stop()


async def test_malformed_report_is_refused_not_stored(ismg: ScriptedIsmg) -> None:
    connector = create_connector(replace(CMPP, port=await ismg.start(), stop_timeout=0.1))
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    await connector.start()
    try:
        conn = await ismg.connections.get()
        connect = await receive(conn)
        assert connect is not None
        conn[2].write(codec.encode(answer_connect(connect), CmppVersion.V30))
        assert await connector.wait_bound(2.0)
        bad = Deliver(
            sequence=5,
            msg_id=b"\x01" * 8,
            dest_id="1069",
            src_terminal_id="13800138000",
            registered_delivery=1,
            msg_content=b"too short",
        )
        conn[2].write(codec.encode(bad, CmppVersion.V30))
        answer = await receive(conn)
        assert isinstance(answer, DeliverResp)
        assert (answer.sequence, answer.msg_id, answer.result) == (5, b"\x01" * 8, 1)
        assert reports == []
    finally:
        await connector.stop()


# -- the adapter alone ----------------------------------------------------------------------------


def test_msg_fmt_follows_the_text() -> None:
    [ascii_] = submits(adapter(), sms(text="code 1234"))
    [ucs2] = submits(adapter(), sms(text="验证码1234"))
    [gbk] = submits(adapter(encoding="gbk"), sms(text="验证码1234"))
    [emoji] = submits(adapter(encoding="gbk"), sms(text="好🙂"))
    assert (ascii_.msg_fmt, ascii_.msg_content) == (MsgFmt.ASCII, b"code 1234")
    assert (ucs2.msg_fmt, ucs2.msg_content) == (MsgFmt.UCS2, "验证码1234".encode("utf-16-be"))
    assert (gbk.msg_fmt, gbk.msg_content) == (MsgFmt.GBK, "验证码1234".encode("gbk"))
    assert emoji.msg_fmt == MsgFmt.UCS2  # GBK cannot carry it


def test_submit_fields() -> None:
    a = adapter(service_id="MI", fee_user_type="2", fee_code="000010")
    [submit] = submits(a, sms(destination="13800138000"))
    assert (submit.msg_src, submit.src_id, submit.dest_terminal_ids) == (
        SP_ID,
        "106900010123",
        ("13800138000",),
    )
    assert (submit.service_id, submit.fee_user_type, submit.fee_type, submit.fee_code) == (
        "MI",
        2,
        "01",
        "000010",
    )
    assert (submit.registered_delivery, submit.pk_total, submit.pk_number, submit.tp_udhi) == (1, 1, 1, 0)
    [silent] = submits(a, sms(want_receipt=False))
    assert silent.registered_delivery == 0


def test_long_message_segments_carry_udh_and_pk_fields() -> None:
    a = adapter()
    segments = submits(a, sms(text=CHINESE_170))
    assert [(s.pk_total, s.pk_number, s.tp_udhi) for s in segments] == [(3, 1, 1), (3, 2, 1), (3, 3, 1)]
    refs = {s.msg_content[3] for s in segments}
    assert len(refs) == 1
    assert [s.msg_content[:6] for s in segments] == [bytes((5, 0, 3, *refs, 3, n)) for n in (1, 2, 3)]
    assert all(len(s.msg_content) <= 140 for s in segments)
    assert b"".join(s.msg_content[6:] for s in segments).decode("utf-16-be") == CHINESE_170
    assert [s.sequence for s in segments] == [1, 2, 3]
    next_refs = {s.msg_content[3] for s in submits(a, sms(text=CHINESE_170))}
    assert next_refs != refs  # each long message gets its own reference


def test_version_from_protocol_name_and_extra() -> None:
    assert create_connector(replace(CMPP, protocol="cmpp")).adapter.version is CmppVersion.V30  # type: ignore[attr-defined]
    assert create_connector(replace(CMPP, protocol="cmpp2")).adapter.version is CmppVersion.V20  # type: ignore[attr-defined]
    assert adapter(version="2.0").version is CmppVersion.V20
    with pytest.raises(ValueError, match="version"):
        adapter(version="4.0")
    with pytest.raises(ValueError, match="encoding"):
        adapter(encoding="latin1")


def test_config_defaults_are_the_specs() -> None:
    connector = create_connector(ConnectorConfig("x", "cmpp", "h", 1, SP_ID, SECRET))
    settings = connector.settings
    assert (settings.window, settings.response_timeout, settings.response_tries) == (16, 60.0, 3)
    assert settings.enquire_interval == 180.0


def test_cmpp2_resolves_in_a_fresh_interpreter() -> None:
    script = (
        "from smsplatform.connectors.config import ConnectorConfig\n"
        "from smsplatform.connectors.registry import create_connector\n"
        "from smsplatform.simulator.runner import dialect_for\n"
        "c = create_connector(ConnectorConfig('x', 'cmpp2', 'h', 1, 'sp', 'pw'))\n"
        "print(c.adapter.version, dialect_for('cmpp2').version)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["32", "32"]


def test_report_and_mo_decoding() -> None:
    a = adapter()
    msg_id = bytes.fromhex("1234567890abcdef")
    report = StatusReport(
        msg_id=msg_id,
        stat="MB:0008",
        submit_time="2501011200",
        done_time="2501011201",
        dest_terminal_id="13800138000",
    )
    deliver = Deliver(
        sequence=1,
        msg_id=bytes(8),
        dest_id="1069",
        src_terminal_id="13800138000",
        registered_delivery=1,
        msg_content=build_report(report, CmppVersion.V20),  # a 3.0 ISMG sending the 2.0 report
    )
    got = a.read_deliver(deliver).report
    assert got is not None
    assert (got.remote_id, got.stat, got.err) == (format_msg_id(msg_id), "MB:0008", "MB:0008")
    assert (got.submit_time, got.done_time, got.destination) == ("2501011200", "2501011201", "13800138000")
    mo = replace(deliver, registered_delivery=0, msg_fmt=MsgFmt.GBK, msg_content="你好".encode("gbk"))
    assert a.read_deliver(mo).inbound == InboundSms("13800138000", "1069", "你好", "cmpp-link")
    with pytest.raises(ProtocolError):
        a.read_deliver(replace(deliver, msg_content=b"short"))


def test_long_mo_parts_join_even_when_split_inside_a_character() -> None:
    a = adapter()
    raw = "谢谢".encode("utf-16-be")  # 4 octets, split 3 + 1
    parts = [bytes((5, 0, 3, 9, 2, n)) + chunk for n, chunk in ((2, raw[3:]), (1, raw[:3]))]
    base = Deliver(sequence=1, msg_id=bytes(8), dest_id="1069", src_terminal_id="139", msg_content=b"")
    first = a.read_deliver(replace(base, tp_udhi=1, msg_fmt=MsgFmt.UCS2, msg_content=parts[0]))
    assert first.inbound is None and first.report is None
    second = a.read_deliver(replace(base, tp_udhi=1, msg_fmt=MsgFmt.UCS2, msg_content=parts[1]))
    assert second.inbound is not None and second.inbound.text == "谢谢"


def test_answers() -> None:
    a = adapter()
    deliver = Deliver(sequence=4, msg_id=b"\x07" * 8, dest_id="1", src_terminal_id="2", msg_content=b"x")
    results = [a.deliver_response(deliver, status) for status in AckStatus]
    assert [(r.sequence, r.msg_id, r.result) for r in results if isinstance(r, DeliverResp)] == [
        (4, b"\x07" * 8, 0),
        (4, b"\x07" * 8, 8),
        (4, b"\x07" * 8, 1),
    ]
    throttled = a.read_submit_response(SubmitResp(sequence=1, msg_id=bytes(8), result=8))
    wrong_src = a.read_submit_response(SubmitResp(sequence=1, msg_id=bytes(8), result=10))
    assert (throttled.ok, throttled.transient, wrong_src.transient, wrong_src.error) == (
        False,
        True,
        False,
        "10",
    )


@pytest.mark.parametrize("version", ["3.0", "2.0"])
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, sms()),
        ({}, sms(text="验证码1234", want_receipt=False)),
        ({}, sms(text=CHINESE_170)),
        ({"encoding": "gbk"}, sms(text="验证码1234")),
        ({"service_id": "MI", "fee_user_type": "2", "fee_code": "000010"}, sms()),
    ],
)
def test_submit_frames_are_the_submits_encoded(
    version: str, extra: dict[str, str], message: OutboundSms
) -> None:
    framed, built = adapter(version=version, **extra), adapter(version=version, **extra)
    built._ref = framed._ref  # the same concatenation reference
    frames = framed.submit_frames(message, iter(range(7, 100)).__next__)
    pdus = built.build_submits(message, iter(range(7, 100)).__next__)
    assert frames == [(pdu.sequence, built.encode(pdu)) for pdu in pdus]


def test_a_submit_the_wire_cannot_carry_is_refused_with_the_codecs_reason() -> None:
    too_long = replace(sms(), source="1" * 22)
    with pytest.raises(ValueError, match="src_id"):
        adapter().submit_frames(too_long, iter(range(1, 100)).__next__)
    # A link whose fixed fields cannot go on the wire: every submit says which.
    with pytest.raises(ValueError, match="service_id"):
        adapter(service_id="far too long").submit_frames(sms(), iter(range(1, 100)).__next__)


@pytest.mark.parametrize("version", ["3.0", "2.0"])
def test_deliver_answers_are_the_responses_encoded(version: str) -> None:
    a = adapter(version=version)
    deliver = Deliver(sequence=4, msg_id=b"\x07" * 8, dest_id="1", src_terminal_id="2", msg_content=b"x")
    not_a_deliver = TerminateResp(sequence=5)
    for pdu in (deliver, not_a_deliver):
        for status in AckStatus:
            assert a.deliver_response_frame(pdu, status) == a.encode(a.deliver_response(pdu, status))
