"""The SGIP 1.2 connector against the SGIP simulator over loopback, and its SMG-facing listener."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.adapter import AckStatus, SessionRole
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.connectors.sgip import SP_PAYS, SgipAdapter
from smsplatform.protocols.concat import build_concat_udh
from smsplatform.protocols.sgip import codec
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    Deliver,
    DeliverResp,
    Pdu,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
    UserRpt,
    UserRptResp,
)
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import FAST, eventually

CHINESE_170 = "您好，这是一条很长的中文短信，用来检查长短信的拆分与重组是否正确。" * 5 + "谢谢配合！"
LISTEN = {"listen_port": "0", "listen_login": "smg", "listen_password": "back"}
SGIP = replace(
    FAST,
    name="sgip-link",
    protocol="sgip",
    system_id="sp",
    password="pw",
    extra={**LISTEN, "node_id": "3010012345", "corp_id": "12345", "service_id": "HELP"},
)

Link = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("sgip", {"sp": "pw"}, LastDigitRule(delay=0.01))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def link(smsc: SmscServer[Any]) -> AsyncIterator[Link]:
    """Start a connector to the simulator and point the simulator at the connector's listener."""
    started: list[Connector] = []

    async def factory(bound: bool = True, **changes: Any) -> Connector:
        connector = create_connector(replace(SGIP, **{"port": smsc.port, **changes}))
        started.append(connector)
        await connector.start()
        assert connector.listen_port is not None
        smsc.connect_back("sp", "127.0.0.1", connector.listen_port, "smg", "back")
        if bound:
            assert await connector.wait_bound(2.0)
        return connector

    yield factory
    for connector in started:
        await connector.stop()


def sms(
    key: int = 1, text: str = "Your code is 1234", destination: str = "13800138000", **kw: Any
) -> OutboundSms:
    return OutboundSms(key=key, source="1069000101", destination=destination, text=text, **kw)


def adapter(**extra: str) -> SgipAdapter:
    return SgipAdapter(replace(SGIP, extra={**SGIP.extra, **extra}))


def submits(pdus: list[Pdu]) -> list[Submit]:
    assert all(isinstance(pdu, Submit) for pdu in pdus)
    return [pdu for pdu in pdus if isinstance(pdu, Submit)]


# -- against the simulator ---------------------------------------------------------------------


async def test_submit_answers_with_the_submits_own_sequence_and_reports_match(
    smsc: SmscServer[Any], link: Link
) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    results = await asyncio.gather(
        *(connector.submit(sms(key=k, destination=f"1380013800{k}")) for k in range(10))
    )

    assert all(r.ok and len(r.remote_ids) == 1 for r in results)
    ids = [SgipSequence.parse(r.remote_ids[0]) for r in results]
    assert {i.node_id for i in ids} == {3010012345} and len({i.number for i in ids}) == 10
    await eventually(lambda: len(reports) == 10)
    by_id = {r.remote_id: r for r in reports}
    for k, result in enumerate(results):
        report = by_id[result.remote_ids[0]]
        assert report.destination == f"1380013800{k}"
        if k <= 6:
            assert (report.stat, report.err) == ("DELIVRD", "000")
        else:  # UNDELIV, EXPIRED and REJECTD all read as SGIP's one failed State, with the ErrorCode
            assert report.stat == "UNDELIV" and report.err in {"028", "025", "029"}
    assert {(m.source, m.destination[:10], m.text) for m in smsc.received} == {
        ("1069000101", "1380013800", "Your code is 1234")
    }
    await eventually(lambda: smsc.counters.receipts_acked == 10)


async def test_long_ucs2_message_in_three_segments(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    result = await connector.submit(sms(text=CHINESE_170, destination="13800138007"))

    assert result.ok and len(result.remote_ids) == 3
    assert [(m.text, m.message_ids) for m in smsc.received] == [(CHINESE_170, result.remote_ids)]
    await eventually(lambda: len(reports) == 3)
    assert sorted(r.remote_id for r in reports) == sorted(result.remote_ids)
    assert {(r.stat, r.err) for r in reports} == {("UNDELIV", "028")}


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("auto", "plain ascii"),
        ("auto", "中文短信"),
        ("gbk", "中文短信"),
        ("gbk", "emoji 🙂"),
        ("ucs2", "abc"),
    ],
)
async def test_every_coding_reaches_the_smg_intact(
    smsc: SmscServer[Any], link: Link, encoding: str, text: str
) -> None:
    connector = await link(extra={**SGIP.extra, "encoding": encoding})
    assert (await connector.submit(sms(text=text))).ok
    assert smsc.received[0].text == text


async def test_mo_injected_reaches_on_inbound(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    inbound: list[InboundSms] = []
    connector.on_inbound = inbound.append

    smsc.inject_mo("13900139000", "106900010123", "TD")
    smsc.inject_mo("13900139000", "106900010123", CHINESE_170)  # three Delivers with a UDH

    await eventually(lambda: len(inbound) == 2)
    assert inbound[0] == InboundSms("13900139000", "106900010123", "TD", "sgip-link")
    assert inbound[1] == InboundSms("13900139000", "106900010123", CHINESE_170, "sgip-link")
    await eventually(lambda: smsc.counters.mo_acked == 4)


async def test_no_link_test_either_way(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(enquire_interval=0.02)
    assert (await connector.submit(sms())).ok  # the SMG's link back is open too
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    smsc.slow_responses(0.15)  # the line is idle for many enquire intervals while this one waits
    assert (await connector.submit(sms(key=2))).ok
    assert smsc.ping() == 0  # nothing to send: SGIP has no heartbeat
    assert smsc.counters.link_tests_received == 0 and connector.stats().state == "bound"
    assert connector.stats().reconnects == 0


async def test_throttled_is_transient(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.throttle(1)
    throttled = await connector.submit(sms(key=1))
    assert (throttled.ok, throttled.transient, throttled.maybe_sent, throttled.error) == (
        False,
        True,
        False,
        "11",
    )
    assert (await connector.submit(sms(key=2))).ok


async def test_missing_responses_time_out_transiently(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(response_timeout=0.1)
    smsc.drop_responses(1.0)
    lost = await connector.submit(sms())
    assert (lost.ok, lost.transient, lost.maybe_sent, lost.error) == (False, True, True, "timeout")
    assert connector.stats().timeouts == 1


async def test_dropped_connections_are_rebuilt_both_ways(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    assert (await connector.submit(sms(key=1))).ok
    await eventually(lambda: len(reports) == 1)
    smsc.slow_responses(0.3)
    pending = [asyncio.create_task(connector.submit(sms(key=k))) for k in range(2, 5)]
    await eventually(lambda: connector.stats().in_flight == 3)

    assert smsc.drop_connections() == 2  # ours to the SMG, and the SMG's back to us

    results = await asyncio.gather(*pending)
    assert all(not r.ok and r.transient and r.maybe_sent for r in results)
    smsc.clear_faults()
    assert await connector.wait_bound(2.0)
    again = await connector.submit(sms(key=9))
    assert again.ok
    await eventually(lambda: again.remote_ids[0] in {r.remote_id for r in reports})
    assert connector.stats().reconnects == 1


async def test_wrong_password(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bound=False, password="nope")
    await eventually(lambda: smsc.counters.bind_failures >= 1)
    await eventually(
        lambda: (
            connector.stats().last_error == "bind refused: status 1 (illegal login (name or password wrong))"
        )
    )
    assert connector.stats().state != "bound"


async def test_the_smg_must_log_in_to_our_listener(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    assert connector.listen_port is not None
    smsc.connect_back("sp", "127.0.0.1", connector.listen_port, "smg", "guess")

    result = await connector.submit(sms())

    await eventually(lambda: smsc.counters.bind_failures >= 2)  # refused, and tried again
    assert not reports and smsc.pending_delivers("sp") == 1
    smsc.connect_back("sp", "127.0.0.1", connector.listen_port, "smg", "back")
    await eventually(lambda: [r.remote_id for r in reports] == list(result.remote_ids))


async def test_graceful_stop_unbinds(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.1)
    pending = asyncio.create_task(connector.submit(sms()))
    await eventually(lambda: connector.stats().in_flight == 1)
    await connector.stop()
    assert (await pending).ok
    await eventually(lambda: not smsc.sessions)
    assert connector.stats().state == "stopped"


async def test_simulator_options_wire_the_callback() -> None:
    """What the composition root does: the simulator is told the listener in its options."""
    connector = create_connector(replace(SGIP, extra={**SGIP.extra, "listen_port": "0"}, port=1))
    await connector.start()
    try:
        port = connector.listen_port
        options = {"callback_port": str(port), "callback_login": "smg", "callback_password": "back"}
        smsc = create_simulator("sgip", {"sp": "pw"}, LastDigitRule(delay=0.0), options=options)
        await smsc.start()
        inbound: list[InboundSms] = []
        connector.on_inbound = inbound.append
        try:
            smsc.inject_mo("13900139000", "1069", "hello")
            await eventually(lambda: [m.text for m in inbound] == ["hello"])
        finally:
            await smsc.close()
    finally:
        await connector.stop()


# -- the listener, driven by hand ----------------------------------------------------------------


class Smg:
    """A hand-driven SMG connected to the connector's listener."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.frames = reader, writer, codec.PduReader()
        self.number = 0

    @classmethod
    async def connect(cls, connector: Connector) -> Smg:
        assert connector.listen_port is not None
        return cls(*await asyncio.open_connection("127.0.0.1", connector.listen_port))

    def sequence(self) -> SgipSequence:
        self.number += 1
        return SgipSequence(100001, 1127120000, self.number)

    async def request(self, pdu: Pdu) -> Pdu:
        self.writer.write(codec.encode(pdu))
        while (answer := self.frames.next_pdu()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), 2.0)
            assert data, "closed"
            self.frames.receive_data(data)
        assert answer.sequence == pdu.sequence
        return answer

    async def bind(self, login: str = "smg", password: str = "back", login_type: int = 2) -> Pdu:
        bind = Bind(
            sequence=self.sequence(), login_type=login_type, login_name=login, login_password=password
        )
        return await self.request(bind)

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 2.0) == b""


@pytest.fixture
async def listener() -> AsyncIterator[Connector]:
    """A connector with no SMG to reach, listening for the SMG's own connections."""
    connector = create_connector(replace(SGIP, port=1, reconnect_initial=5.0))
    await connector.start()
    yield connector
    await connector.stop()


async def test_listener_takes_reports_and_mo_after_the_smgs_bind(listener: Connector) -> None:
    reports: list[DeliveryReport] = []
    inbound: list[InboundSms] = []
    listener.on_report, listener.on_inbound = reports.append, inbound.append
    smg = await Smg.connect(listener)
    early = Report(sequence=smg.sequence(), submit_sequence=SgipSequence(1, 2, 3), user_number="1", state=0)
    assert await smg.request(early) == ReportResp(sequence=early.sequence, result=1)  # not logged in
    assert await smg.bind() == BindResp(sequence=SgipSequence(100001, 1127120000, 2), result=0)

    submitted = SgipSequence(3010012345, 1127115959, 42)
    for state, error in ((1, 0), (2, 26), (0, 0)):  # waiting (not final), failed, delivered
        report = Report(
            sequence=smg.sequence(),
            submit_sequence=submitted,
            user_number="8613800138000",
            state=state,
            error_code=error,
        )
        assert await smg.request(report) == ReportResp(sequence=report.sequence, result=0)
    mo = Deliver(
        sequence=smg.sequence(),
        user_number="8613900139000",
        sp_number="1069000101",
        message_coding=15,
        message_content="退订".encode("gbk"),
    )
    assert await smg.request(mo) == DeliverResp(sequence=mo.sequence, result=0)
    notice = UserRpt(sequence=smg.sequence(), sp_number="1069", user_number="8613900139000", user_condition=0)
    assert await smg.request(notice) == UserRptResp(sequence=notice.sequence, result=0)
    unbind = Unbind(sequence=smg.sequence())
    assert await smg.request(unbind) == UnbindResp(sequence=unbind.sequence)
    assert await smg.closed()

    remote_id = "3010012345-1127115959-42"
    assert reports == [
        DeliveryReport(remote_id, "UNDELIV", "026", "13800138000", "", "", "sgip-link"),
        DeliveryReport(remote_id, "DELIVRD", "000", "13800138000", "", "", "sgip-link"),
    ]
    assert inbound == [InboundSms("13900139000", "1069000101", "退订", "sgip-link")]


@pytest.mark.parametrize(
    ("login", "password", "login_type", "result"),
    [("smg", "guess", 2, 1), ("sp", "pw", 2, 1), ("smg", "back", 1, 4)],
)
async def test_listener_refuses_a_wrong_login(
    listener: Connector, login: str, password: str, login_type: int, result: int
) -> None:
    smg = await Smg.connect(listener)
    answer = await smg.bind(login, password, login_type)
    assert isinstance(answer, BindResp) and answer.result == result
    assert await smg.closed()


async def test_listener_asks_for_redelivery_when_the_report_was_not_stored(listener: Connector) -> None:
    async def failing(report: DeliveryReport) -> None:
        raise RuntimeError("database down")

    listener.on_report = failing
    smg = await Smg.connect(listener)
    await smg.bind()
    report = Report(sequence=smg.sequence(), submit_sequence=SgipSequence(1, 2, 3), user_number="86", state=0)
    assert await smg.request(report) == ReportResp(sequence=report.sequence, result=11)


async def test_long_mo_parts_in_any_order_are_joined(listener: Connector) -> None:
    inbound: list[InboundSms] = []
    listener.on_inbound = inbound.append
    smg = await Smg.connect(listener)
    await smg.bind()
    text = "长" * 100
    bodies = [text[:67].encode("utf-16-be"), text[67:].encode("utf-16-be")]
    for seq in (2, 1):
        part = Deliver(
            sequence=smg.sequence(),
            user_number="8613900139000",
            sp_number="1069",
            tp_udhi=1,
            message_coding=8,
            message_content=build_concat_udh(7, 2, seq) + bodies[seq - 1],
        )
        assert isinstance(await smg.request(part), DeliverResp)
    assert [m.text for m in inbound] == [text]


# -- the adapter alone ---------------------------------------------------------------------------


def test_submit_fields() -> None:
    [submit] = submits(adapter().build_submits(sms(want_receipt=False), lambda: 0))
    assert (submit.sp_number, submit.user_numbers, submit.charge_number) == (
        "1069000101",
        ("8613800138000",),
        SP_PAYS,
    )
    assert (submit.corp_id, submit.service_type, submit.report_flag) == ("12345", "HELP", 2)
    assert (submit.tp_udhi, submit.message_coding, submit.message_content) == (0, 0, b"Your code is 1234")
    assert submit.sequence.node_id == 3010012345
    [wanted] = submits(adapter().build_submits(sms(), lambda: 0))
    assert wanted.report_flag == 1 and wanted.sequence.number != submit.sequence.number


@pytest.mark.parametrize(
    ("encoding", "text", "coding", "octets"),
    [
        ("auto", "hello", 0, b"hello"),
        ("auto", "你好", 8, "你好".encode("utf-16-be")),
        ("gbk", "hello", 0, b"hello"),
        ("gbk", "你好", 15, "你好".encode("gbk")),
        ("gbk", "你好🙂", 8, "你好🙂".encode("utf-16-be")),  # GBK has no emoji
        ("ucs2", "hello", 8, "hello".encode("utf-16-be")),
    ],
)
def test_message_coding_choice(encoding: str, text: str, coding: int, octets: bytes) -> None:
    [submit] = submits(adapter(encoding=encoding).build_submits(sms(text=text), lambda: 0))
    assert (submit.message_coding, submit.message_content) == (coding, octets)


def test_long_message_segments_carry_the_concatenation_header() -> None:
    parts = submits(adapter().build_submits(sms(text=CHINESE_170), lambda: 0))
    assert len(parts) == 3 and {p.tp_udhi for p in parts} == {1}
    ref = parts[0].message_content[3]
    for seq, part in enumerate(parts, start=1):
        assert part.message_content[:6] == build_concat_udh(ref, 3, seq)
    assert "".join(p.message_content[6:].decode("utf-16-be") for p in parts) == CHINESE_170


def test_submit_response_judgement() -> None:
    sequence = SgipSequence(3010012345, 1127120000, 5)
    sgip = adapter()
    assert sgip.read_submit_response(SubmitResp(sequence=sequence, result=0)).remote_id == (
        "3010012345-1127120000-5"
    )
    refused = sgip.read_submit_response(SubmitResp(sequence=sequence, result=6))
    assert (refused.ok, refused.transient, refused.error) == (False, False, "6")
    stray = sgip.read_submit_response(UnbindResp(sequence=sequence))
    assert (stray.ok, stray.transient) == (False, True)


def test_acknowledgements() -> None:
    report = Report(
        sequence=SgipSequence(1, 2, 3), submit_sequence=SgipSequence(1, 2, 0), user_number="", state=0
    )
    results = [adapter().deliver_response(report, status) for status in AckStatus]
    assert results == [ReportResp(sequence=report.sequence, result=r) for r in (0, 11, 5)]


def test_options() -> None:
    sgip = adapter()
    assert sgip.session_roles() == (SessionRole.TRANSMITTER,)
    assert sgip.listen_address() == ("127.0.0.1", 0)
    defaults = SgipAdapter(replace(SGIP, extra={"listen_port": "8801", "corp_id": "54321"}))
    assert (defaults.node_id, defaults.listen_login, defaults.listen_password) == (3000054321, "sp", "pw")
    with pytest.raises(ValueError, match="listen_port"):
        SgipAdapter(replace(SGIP, extra={}))
    with pytest.raises(ValueError, match="encoding"):
        adapter(encoding="latin1")
    with pytest.raises(ValueError, match="node_id"):
        adapter(node_id="three")


def test_registry_builds_the_sgip_adapter() -> None:
    assert isinstance(create_connector(SGIP).adapter, SgipAdapter)


def test_processes_of_one_node_issue_different_sequences() -> None:
    """Dispatch workers of one SGIP connector are one node in several processes."""
    program = (
        "from datetime import datetime;"
        "from smsplatform.connectors.sgip import sequence_source;"
        "print(sequence_source(3000012345).next(datetime(2026, 1, 1)).format())"
    )
    issued = {
        subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(issued) == 2
