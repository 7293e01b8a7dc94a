"""The SMGP 3.0 connector against the SMGP simulator (and a hand-made gateway) over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.adapter import AckStatus
from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.connectors.smgp import SmgpAdapter, decode_content
from smsplatform.protocols.concat import parse_concat
from smsplatform.protocols.smgp import codec
from smsplatform.protocols.smgp.auth import server_authenticator
from smsplatform.protocols.smgp.pdu import (
    ActiveTest,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginResp,
    MsgFormat,
    Pdu,
    Submit,
)
from smsplatform.protocols.smgp.report import StatusReport, build_report
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import FAST, eventually

CHINESE_170 = "您好，这是一条很长的中文短信，用来检查长短信的拆分与重组是否正确。" * 5 + "谢谢配合！"
SMGP = replace(FAST, name="smgp-link", protocol="smgp", system_id="sp0001", password="secret-0001")

Link = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("smgp", {"sp0001": "secret-0001"}, LastDigitRule(delay=0.01))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def link(smsc: SmscServer[Any]) -> AsyncIterator[Link]:
    started: list[Connector] = []

    async def factory(bound: bool = True, **changes: Any) -> Connector:
        connector = create_connector(replace(SMGP, **{"port": smsc.port, **changes}))
        started.append(connector)
        await connector.start()
        if bound:
            assert await connector.wait_bound(2.0)
        return connector

    yield factory
    for connector in started:
        await connector.stop()


def sms(
    key: int = 1, text: str = "Your code is 1234", destination: str = "13300133000", **kw: Any
) -> OutboundSms:
    return OutboundSms(key=key, source="1069000101", destination=destination, text=text, **kw)


def submits(adapter: SmgpAdapter, message: OutboundSms) -> list[Submit]:
    sequences = iter(range(1, 1000))
    pdus = adapter.build_submits(message, lambda: next(sequences))
    assert all(isinstance(pdu, Submit) for pdu in pdus)
    return [pdu for pdu in pdus if isinstance(pdu, Submit)]


# -- login ----------------------------------------------------------------------------------------


async def test_login_binds_one_transmit_mode_session(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    assert connector.stats().state == "bound"
    [session] = smsc.sessions
    assert (session.system_id, session.transmits, session.receives) == ("sp0001", True, True)


async def test_wrong_secret_is_refused_with_status_21(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bound=False, password="guess")
    await eventually(lambda: connector.stats().last_error == "bind refused: status 21 (authentication error)")
    assert smsc.counters.bind_failures >= 1 and smsc.counters.binds == 0
    assert connector.stats().state != "bound"


async def test_client_id_longer_than_8_is_reported_not_raised(link: Link) -> None:
    connector = await link(bound=False, system_id="sp-much-too-long")
    await eventually(lambda: connector.stats().last_error.startswith("cannot send the bind"))
    assert "ClientID" in connector.stats().last_error


async def test_transmitter_and_receiver_logins(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bind_mode=BindMode.TRANSMITTER_RECEIVER)
    reports: list[DeliveryReport] = []
    inbound: list[InboundSms] = []
    connector.on_report, connector.on_inbound = reports.append, inbound.append

    result = await connector.submit(sms())
    smsc.inject_mo("13300133000", "1069000101", "hello")

    await eventually(lambda: len(reports) == 1 and len(inbound) == 1)
    assert reports[0].remote_id == result.remote_ids[0]
    assert {(s.transmits, s.receives) for s in smsc.sessions} == {(True, False), (False, True)}


# -- submits and reports --------------------------------------------------------------------------


async def test_submit_gets_msgid_and_matching_reports(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    delivered = await connector.submit(sms(key=1, destination="13300133000"))
    undelivered = await connector.submit(sms(key=2, destination="13300133007"))

    assert delivered.ok and undelivered.ok
    for result in (delivered, undelivered):
        [remote_id] = result.remote_ids
        assert len(remote_id) == 20 and remote_id.isdigit() and remote_id.startswith("010061")
    await eventually(lambda: len(reports) == 2)
    by_id = {r.remote_id: r for r in reports}
    ok, failed = by_id[delivered.remote_ids[0]], by_id[undelivered.remote_ids[0]]
    assert (ok.stat, ok.err, ok.destination, ok.connector) == ("DELIVRD", "000", "13300133000", "smgp-link")
    assert (failed.stat, failed.err, failed.destination) == ("UNDELIV", "005", "13300133007")
    assert len(ok.submit_time) == 10 and len(ok.done_time) == 10
    assert [(m.source, m.text) for m in smsc.received] == [("1069000101", "Your code is 1234")] * 2
    await eventually(lambda: smsc.counters.receipts_acked == 2)


async def test_no_report_when_not_wanted(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    unreported = await connector.submit(sms(want_receipt=False))
    reported = await connector.submit(sms(key=2))
    assert unreported.ok and reported.ok
    await eventually(lambda: len(reports) == 1)  # receipts leave in order: the first's would be here
    assert reports[0].remote_id == reported.remote_ids[0] and smsc.counters.receipts_sent == 1


async def test_long_ucs2_message_in_three_segments(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    result = await connector.submit(sms(text=CHINESE_170, destination="13300133007"))

    assert result.ok and len(result.remote_ids) == 3 and len(set(result.remote_ids)) == 3
    assert [(m.text, m.message_ids) for m in smsc.received] == [(CHINESE_170, result.remote_ids)]
    await eventually(lambda: len(reports) == 3)
    assert {r.remote_id for r in reports} == set(result.remote_ids)
    assert {r.stat for r in reports} == {"UNDELIV"}


def test_long_message_segments_carry_udh_and_pk_tlvs() -> None:
    segments = submits(SmgpAdapter(SMGP), sms(text=CHINESE_170))

    assert len(segments) == 3
    refs = set()
    for number, segment in enumerate(segments, start=1):
        concat, _ = parse_concat(segment.msg_content)
        assert concat is not None and (concat.total, concat.seq) == (3, number)
        refs.add(concat.ref)
        assert (segment.udhi, segment.pk_total, segment.pk_number) == (True, 3, number)
        assert segment.msg_format == MsgFormat.UCS2 and len(segment.msg_content) <= 140
    assert len(refs) == 1
    assert b"".join(parse_concat(s.msg_content)[1] for s in segments).decode("utf-16-be") == CHINESE_170


def test_submit_fields() -> None:
    adapter = SmgpAdapter(replace(SMGP, extra={"service_id": "HELP"}))
    [submit] = submits(adapter, sms(want_receipt=False))
    assert (submit.msg_type, submit.need_report, submit.service_id) == (6, 0, "HELP")
    assert (submit.fee_type, submit.fee_code, submit.msg_format) == ("00", "000000", MsgFormat.ASCII)
    assert (submit.src_term_id, submit.dest_term_ids) == ("1069000101", ("13300133000",))
    assert (submit.msg_content, submit.tlvs) == (b"Your code is 1234", ())
    [wanted] = submits(adapter, sms())
    assert wanted.need_report == 1


@pytest.mark.parametrize(
    ("encoding", "text", "msg_format", "content"),
    [
        ("auto", "Code 1234", MsgFormat.ASCII, b"Code 1234"),
        ("auto", "验证码 1234", MsgFormat.UCS2, "验证码 1234".encode("utf-16-be")),
        ("gbk", "Code 1234", MsgFormat.ASCII, b"Code 1234"),
        ("gbk", "验证码 1234", MsgFormat.GB, "验证码 1234".encode("gbk")),
        ("gbk", "emoji 😀", MsgFormat.UCS2, "emoji 😀".encode("utf-16-be")),  # beyond GBK
        ("ucs2", "Code 1234", MsgFormat.UCS2, "Code 1234".encode("utf-16-be")),
    ],
)
def test_encoding_choice(encoding: str, text: str, msg_format: int, content: bytes) -> None:
    [submit] = submits(SmgpAdapter(replace(SMGP, extra={"encoding": encoding})), sms(text=text))
    assert (submit.msg_format, submit.msg_content) == (msg_format, content)


def test_unknown_encoding_option_is_refused() -> None:
    with pytest.raises(ValueError, match="encoding"):
        SmgpAdapter(replace(SMGP, extra={"encoding": "latin1"}))


async def test_gbk_text_arrives_intact(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(extra={"encoding": "gbk"})
    long_text = "中文长短信" * 30  # 300 GBK octets: 3 segments of at most 134
    short, long = await asyncio.gather(
        connector.submit(sms(text="验证码")), connector.submit(sms(text=long_text))
    )
    assert short.ok and long.ok and len(long.remote_ids) == 3
    assert sorted(m.text for m in smsc.received) == sorted(["验证码", long_text])


async def test_unencodable_text_is_a_permanent_failure(link: Link) -> None:
    connector = await link()
    result = await connector.submit(sms(text="x" * 40_000))  # more than 255 segments
    assert (result.ok, result.transient, result.maybe_sent) == (False, False, False)
    assert result.error.startswith("invalid message")


# -- MO -------------------------------------------------------------------------------------------


async def test_mo_injected_reaches_on_inbound(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    inbound: list[InboundSms] = []
    connector.on_inbound = inbound.append

    smsc.inject_mo("13300133000", "106900010123", "TD")
    smsc.inject_mo("13300133000", "106900010123", CHINESE_170)  # three Delivers with TP_udhi

    await eventually(lambda: len(inbound) == 2)
    assert inbound[0] == InboundSms("13300133000", "106900010123", "TD", "smgp-link")
    assert inbound[1] == InboundSms("13300133000", "106900010123", CHINESE_170, "smgp-link")
    await eventually(lambda: smsc.counters.mo_acked == 4)
    assert connector.stats().received_mo == 2


async def test_gbk_mo_is_read() -> None:
    server = create_simulator("smgp", {"sp0001": "secret-0001"}, options={"mo_encoding": "gbk"})
    await server.start()
    connector = create_connector(replace(SMGP, port=server.port))
    inbound: list[InboundSms] = []
    connector.on_inbound = inbound.append
    try:
        await connector.start()
        assert await connector.wait_bound(2.0)
        server.inject_mo("13300133000", "1069000101", "退订" * 50)  # 200 GBK octets: 2 parts
        await eventually(lambda: len(inbound) == 1)
        assert inbound[0].text == "退订" * 50
    finally:
        await connector.stop()
        await server.close()


def test_mo_text_decoding() -> None:
    assert decode_content("你好".encode("gb18030"), MsgFormat.GB) == "你好"
    assert decode_content("你好".encode("gbk"), MsgFormat.ASCII) == "你好"  # mislabelled GB
    assert decode_content(b"\x4f\x60\x59", MsgFormat.UCS2) == "你\ufffd"  # odd length
    assert decode_content(b"\xff", MsgFormat.BINARY) == "\xff"


# -- link upkeep and failures ---------------------------------------------------------------------


async def test_active_test_both_ways(smsc: SmscServer[Any], link: Link) -> None:
    await link(enquire_interval=0.05)
    await eventually(lambda: smsc.counters.link_tests_received >= 1)
    assert smsc.ping() == 1
    await eventually(lambda: smsc.counters.link_tests_answered == 1)


async def test_throttled_is_transient(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.throttle(1.0)
    throttled = await connector.submit(sms())
    assert (throttled.ok, throttled.transient, throttled.maybe_sent, throttled.error) == (
        False,
        True,
        False,
        "1",
    )
    smsc.clear_faults()
    assert (await connector.submit(sms())).ok


async def test_missing_responses_time_out_after_the_tries(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(response_timeout=0.05)  # the SMGP default of 3 tries
    smsc.drop_responses(1.0)
    lost = await connector.submit(sms())
    assert (lost.ok, lost.transient, lost.maybe_sent, lost.error) == (False, True, True, "timeout")
    assert smsc.counters.dropped_responses == 3  # the same Submit, sent three times
    assert connector.stats().timeouts == 1


async def test_reconnect_after_drop(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.3)
    pending = [asyncio.create_task(connector.submit(sms(key=k))) for k in range(4)]
    await eventually(lambda: connector.stats().in_flight == 4)

    smsc.drop_connections()

    results = await asyncio.gather(*pending)
    assert all(not r.ok and r.transient and r.maybe_sent for r in results)
    smsc.clear_faults()
    assert await connector.wait_bound(2.0)
    assert (await connector.submit(sms(key=9))).ok
    assert connector.stats().reconnects >= 1


async def test_graceful_stop_waits_for_in_flight(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.1)
    pending = asyncio.create_task(connector.submit(sms()))
    await eventually(lambda: connector.stats().in_flight == 1)
    await connector.stop()
    assert (await pending).ok
    await eventually(lambda: not smsc.sessions)
    assert connector.stats().state == "stopped"


# -- a hand-made gateway: what the simulator never does --------------------------------------------


class Gateway:
    """One scripted SMGW connection: answers Login as told, then lets the test talk."""

    def __init__(self, authenticator: bytes | None) -> None:
        self.authenticator = authenticator  # None: prove the secret properly
        self.received: asyncio.Queue[Pdu] = asyncio.Queue()
        self.writer: asyncio.StreamWriter | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def send(self, pdu: Pdu) -> None:
        assert self.writer is not None
        self.writer.write(codec.encode(pdu))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        frames = codec.PduReader()
        while data := await reader.read(65536):
            frames.receive_data(data)
            while (pdu := frames.next_pdu()) is not None:
                if isinstance(pdu, Login):
                    proof = self.authenticator
                    if proof is None:
                        proof = server_authenticator(0, pdu.authenticator_client, SMGP.password)
                    self.send(LoginResp(pdu.sequence, 0, authenticator_server=proof))
                elif isinstance(pdu, Exit):
                    self.send(ExitResp(pdu.sequence))
                await self.received.put(pdu)


@pytest.fixture
async def gateway() -> AsyncIterator[Callable[[bytes | None], Awaitable[Gateway]]]:
    gateways: list[Gateway] = []

    async def factory(authenticator: bytes | None = None) -> Gateway:
        gateways.append(Gateway(authenticator))
        return gateways[-1]

    yield factory
    for made in gateways:
        await made.close()


async def start_link(config: ConnectorConfig) -> Connector:
    connector = create_connector(config)
    await connector.start()
    return connector


async def test_gateway_without_the_secret_is_not_trusted(
    gateway: Callable[[bytes | None], Awaitable[Gateway]],
) -> None:
    impostor = await gateway(bytes(16))
    port = await impostor.start()
    connector = await start_link(replace(SMGP, port=port))
    try:
        await eventually(lambda: "AuthenticatorServer" in connector.stats().last_error)
        assert connector.stats().state != "bound"
    finally:
        await connector.stop()
    lenient = await start_link(replace(SMGP, port=port, extra={"verify_server": "0"}))
    try:
        assert await lenient.wait_bound(2.0)
    finally:
        await lenient.stop()


async def test_peer_exit_is_answered_and_reports_are_acknowledged(
    gateway: Callable[[bytes | None], Awaitable[Gateway]],
) -> None:
    smgw = await gateway(None)
    connector = await start_link(replace(SMGP, port=await smgw.start()))
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    try:
        assert await connector.wait_bound(2.0)
        login = await smgw.received.get()
        assert isinstance(login, Login) and (login.client_id, login.login_mode, login.client_version) == (
            "sp0001",
            2,
            0x30,
        )
        msg_id = bytes.fromhex("01006101161700012345")
        content = build_report(
            StatusReport(msg_id, "DELIVRD", submit_date="0301161700", done_date="0301161701")
        )
        smgw.send(Deliver(7, msg_id=bytes(10), is_report=1, src_term_id="13300133000", msg_content=content))
        smgw.send(Deliver(8, msg_id=bytes(10), is_report=1, msg_content=b"not a report"))
        smgw.send(ActiveTest(9))
        smgw.send(Exit(10))
        answers = [await asyncio.wait_for(smgw.received.get(), 2.0) for _ in range(4)]
        assert answers == [
            DeliverResp(7, msg_id=bytes(10), status=0),
            DeliverResp(8, msg_id=bytes(10), status=10),  # unusable: not to be sent again
            answers[2],
            ExitResp(10),
        ]
        assert answers[2].command_id == 0x80000004 and answers[2].sequence == 9
        assert [(r.remote_id, r.stat, r.submit_time) for r in reports] == [
            ("01006101161700012345", "DELIVRD", "0301161700")
        ]
        await eventually(lambda: connector.stats().state != "bound" or connector.stats().reconnects > 0)
    finally:
        await connector.stop()


async def test_stop_sends_exit(gateway: Callable[[bytes | None], Awaitable[Gateway]]) -> None:
    smgw = await gateway(None)
    connector = await start_link(replace(SMGP, port=await smgw.start()))
    assert await connector.wait_bound(2.0)
    assert isinstance(await smgw.received.get(), Login)
    await connector.stop()
    assert isinstance(await asyncio.wait_for(smgw.received.get(), 1.0), Exit)
    assert connector.stats().state == "stopped"


# -- registry and defaults ------------------------------------------------------------------------


def test_registry_and_spec_defaults() -> None:
    connector = create_connector(ConnectorConfig("x", "smgp", "h", 1, "sp", "pw"))
    assert isinstance(connector.adapter, SmgpAdapter)
    settings = connector.settings
    assert (settings.window, settings.response_timeout, settings.response_tries) == (16, 60.0, 3)
    assert settings.enquire_interval == 180.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, sms()),
        ({}, sms(text="验证码1234", want_receipt=False)),
        ({}, sms(text="您好，这是一条很长的中文短信。" * 6)),
        ({"encoding": "gbk", "service_id": "MI", "priority": "3"}, sms(text="验证码1234")),
    ],
)
def test_submit_frames_are_the_submits_encoded(extra: dict[str, str], message: OutboundSms) -> None:
    framed = SmgpAdapter(replace(SMGP, extra=extra))
    built = SmgpAdapter(replace(SMGP, extra=extra))
    built._ref = framed._ref  # the same concatenation reference
    frames = framed.submit_frames(message, iter(range(7, 100)).__next__)
    pdus = built.build_submits(message, iter(range(7, 100)).__next__)
    assert frames == [(pdu.sequence, codec.encode(pdu)) for pdu in pdus]


def test_a_submit_the_wire_cannot_carry_is_refused_with_the_codecs_reason() -> None:
    with pytest.raises(ValueError, match="SrcTermID"):
        SmgpAdapter(SMGP).submit_frames(replace(sms(), source="1" * 22), iter(range(1, 100)).__next__)
    # A link whose fixed fields cannot go on the wire: every submit says which.
    with pytest.raises(ValueError, match="ServiceID"):
        SmgpAdapter(replace(SMGP, extra={"service_id": "far too long"})).submit_frames(
            sms(), iter(range(1, 100)).__next__
        )


def test_deliver_answers_are_the_responses_encoded() -> None:
    adapter = SmgpAdapter(SMGP)
    deliver = Deliver(4, msg_id=b"\x07" * 10, src_term_id="13300133000", msg_content=b"x")
    for pdu in (deliver, Exit(5)):
        for status in AckStatus:
            assert adapter.deliver_response_frame(pdu, status) == codec.encode(
                adapter.deliver_response(pdu, status)
            )
