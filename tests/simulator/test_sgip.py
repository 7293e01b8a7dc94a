"""The SGIP 1.2 simulator on the wire: a hand-driven SP on our codec, and the SP's own listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.protocols.admission import ListenerLimits
from smsplatform.protocols.concat import build_concat_udh, parse_concat
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
)
from smsplatform.simulator.dialect import CallbackTarget
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator, dialect_for
from smsplatform.simulator.server import SmscServer
from smsplatform.simulator.sgip import DEFAULT_NODE_ID, SgipDialect
from tests.connectors.conftest import eventually


class Peer:
    """One end of an SGIP connection driven by hand: sends PDUs, reads PDUs, answers nothing itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.frames = reader, writer, codec.PduReader()
        self.number = 0

    def sequence(self) -> SgipSequence:
        self.number += 1
        return SgipSequence(3000012345, 1127120000, self.number)

    def send(self, pdu: Pdu) -> None:
        self.writer.write(codec.encode(pdu))

    async def receive(self) -> Pdu:
        while (pdu := self.frames.next_pdu()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), 2.0)
            assert data, "closed"
            self.frames.receive_data(data)
        return pdu

    async def request(self, pdu: Pdu) -> Pdu:
        self.send(pdu)
        answer = await self.receive()
        assert answer.sequence == pdu.sequence
        return answer

    async def bind(self, password: str = "pw", login_type: int = 1) -> Pdu:
        return await self.request(
            Bind(sequence=self.sequence(), login_type=login_type, login_name="sp", login_password=password)
        )

    async def submit(self, number: str = "8613800138000", report_flag: int = 1, **fields: Any) -> Pdu:
        values: dict[str, Any] = {"message_coding": 0, "message_content": b"hello", **fields}
        submit = Submit(
            sequence=self.sequence(),
            sp_number="1069000101",
            user_numbers=(number,),
            report_flag=report_flag,
            **values,
        )
        return await self.request(submit)

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 2.0) == b""


class SpListener:
    """The SP's listener the SMG connects back to; hands each connection over as a Peer."""

    def __init__(self) -> None:
        self.peers: asyncio.Queue[Peer] = asyncio.Queue()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.peers.put(Peer(reader, writer))

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def accept_bind(self, result: int = 0) -> Peer:
        """The next connection from the SMG, its Bind answered with `result`."""
        peer = await asyncio.wait_for(self.peers.get(), 2.0)
        bind = await peer.receive()
        assert isinstance(bind, Bind) and (bind.login_type, bind.login_name, bind.login_password) == (
            2,
            "sp-in",
            "secret",
        )
        peer.send(BindResp(sequence=bind.sequence, result=result))
        return peer

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def listener() -> AsyncIterator[SpListener]:
    sp = SpListener()
    yield sp
    await sp.close()


@pytest.fixture
async def smsc(listener: SpListener) -> AsyncIterator[SmscServer[Any]]:
    port = await listener.start()
    options = {"callback_port": str(port), "callback_login": "sp-in", "callback_password": "secret"}
    # Logins are refused on purpose here; the delay that follows them is test_listener_limits' subject.
    no_delay = ListenerLimits(login_failure_delay=0.0)
    server = create_simulator(
        "sgip", {"sp": "pw"}, LastDigitRule(delay=0.0), options=options, limits=no_delay
    )
    server.redeliver_delay = 0.02
    await server.start()
    yield server
    await server.close()


async def connect(server: SmscServer[Any]) -> Peer:
    return Peer(*await asyncio.open_connection("127.0.0.1", server.port))


async def test_binds(smsc: SmscServer[Any]) -> None:
    sp = await connect(smsc)
    early = await sp.submit()
    assert isinstance(early, SubmitResp) and early.result == 1  # not logged in
    refused = await sp.bind("guess")
    assert isinstance(refused, BindResp) and refused.result == 1
    assert await sp.closed()

    sp = await connect(smsc)
    wrong_type = await sp.bind(login_type=2)
    assert isinstance(wrong_type, BindResp) and wrong_type.result == 4
    assert await sp.closed()

    sp = await connect(smsc)
    assert isinstance(ok := await sp.bind(), BindResp) and ok.result == 0
    again = await sp.bind()
    assert isinstance(again, BindResp) and again.result == 2
    unbind = Unbind(sequence=sp.sequence())
    assert await sp.request(unbind) == UnbindResp(sequence=unbind.sequence)
    assert await sp.closed()
    assert (smsc.counters.binds, smsc.counters.bind_failures) == (1, 2)


async def test_submit_reports_come_back_over_the_smgs_own_connection(
    smsc: SmscServer[Any], listener: SpListener
) -> None:
    sp = await connect(smsc)
    await sp.bind()
    answers = [await sp.submit(number) for number in ("8613800138000", "8613800138007", "8613800138008")]
    assert [a.result for a in answers if isinstance(a, SubmitResp)] == [0, 0, 0]

    back = await listener.accept_bind()
    reports = [await back.receive() for _ in answers]
    for report in reports:
        assert isinstance(report, Report)
        back.send(ReportResp(sequence=report.sequence, result=0))
    assert all(isinstance(r, Report) and r.sequence.node_id == DEFAULT_NODE_ID for r in reports)
    by_submit = {r.submit_sequence: r for r in reports if isinstance(r, Report)}
    found = [by_submit[a.sequence] for a in answers]
    assert [(r.user_number, r.state, r.error_code, r.report_type) for r in found] == [
        ("8613800138000", 0, 0, 0),
        ("8613800138007", 2, 28, 0),  # UNDELIV
        ("8613800138008", 2, 25, 0),  # EXPIRED
    ]
    await eventually(lambda: smsc.counters.receipts_acked == 3)
    assert [(m.source, m.destination, m.text) for m in smsc.received] == [
        ("1069000101", f"1380013800{digit}", "hello") for digit in "078"
    ]
    assert smsc.received[0].message_ids == (answers[0].sequence.format(),)


async def test_report_flags(smsc: SmscServer[Any], listener: SpListener) -> None:
    sp = await connect(smsc)
    await sp.bind()
    await sp.submit("8613800138000", report_flag=2)  # none
    await sp.submit("8613800138001", report_flag=0)  # on failure only, and it is delivered
    failed = await sp.submit("8613800138007", report_flag=0)
    back = await listener.accept_bind()
    report = await back.receive()
    assert isinstance(report, Report) and report.submit_sequence == failed.sequence
    back.send(ReportResp(sequence=report.sequence, result=0))
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert smsc.pending_delivers("sp") == 0 and len(smsc.received) == 3


async def test_long_submit_is_reassembled(smsc: SmscServer[Any]) -> None:
    sp = await connect(smsc)
    await sp.bind()
    text = "长" * 100
    halves = [text[:67].encode("utf-16-be"), text[67:].encode("utf-16-be")]
    answers = [
        await sp.submit(tp_udhi=1, message_coding=8, message_content=build_concat_udh(9, 2, seq) + half)
        for seq, half in enumerate(halves, start=1)
    ]
    assert [(m.text, m.message_ids) for m in smsc.received] == [
        (text, tuple(a.sequence.format() for a in answers))
    ]


async def test_unusable_submits(smsc: SmscServer[Any]) -> None:
    sp = await connect(smsc)
    await sp.bind()
    group = Submit(
        sequence=sp.sequence(),
        sp_number="1069",
        user_numbers=("8613800138000", "8613800138001"),
        message_coding=0,
        message_content=b"x",
    )
    assert await sp.request(group) == SubmitResp(sequence=group.sequence, result=5)
    truncated = codec.encode(group)[:-10]  # well framed, body cut short
    sp.writer.write(len(truncated).to_bytes(4, "big") + truncated[4:])
    assert await sp.receive() == SubmitResp(sequence=group.sequence, result=5)
    assert isinstance(ok := await sp.submit(), SubmitResp) and ok.result == 0  # the link goes on


async def test_throttled_submit(smsc: SmscServer[Any]) -> None:
    sp = await connect(smsc)
    await sp.bind()
    smsc.throttle(1)
    assert isinstance(busy := await sp.submit(), SubmitResp) and busy.result == 11
    assert isinstance(ok := await sp.submit(), SubmitResp) and ok.result == 0


async def test_mo_split_with_udh_and_resent_until_acknowledged(
    smsc: SmscServer[Any], listener: SpListener
) -> None:
    smsc.inject_mo("13900139000", "106900010123", "你" * 71)
    back = await listener.accept_bind()
    parts = [await back.receive(), await back.receive()]
    bodies: dict[int, bytes] = {}
    for part in parts:
        assert isinstance(part, Deliver)
        assert (part.user_number, part.sp_number, part.tp_udhi, part.message_coding) == (
            "8613900139000",
            "106900010123",
            1,
            8,
        )
        concat, body = parse_concat(part.message_content)
        assert concat is not None and concat.total == 2
        bodies[concat.seq] = body
    assert (bodies[1] + bodies[2]).decode("utf-16-be") == "你" * 71
    back.send(DeliverResp(sequence=parts[0].sequence, result=0))
    back.send(DeliverResp(sequence=parts[1].sequence, result=11))  # not stored: send it again
    again = await back.receive()
    assert again == replace(parts[1], sequence=again.sequence)
    back.send(DeliverResp(sequence=again.sequence, result=0))
    await eventually(lambda: smsc.counters.mo_acked == 2)

    smsc.inject_mo("13900139000", "1069", "TD")
    short = await back.receive()
    assert isinstance(short, Deliver) and (short.tp_udhi, short.message_coding, short.message_content) == (
        0,
        0,
        b"TD",
    )


async def test_refused_callback_login_is_retried(smsc: SmscServer[Any], listener: SpListener) -> None:
    smsc.inject_mo("13900139000", "1069", "hi")
    refused = await listener.accept_bind(result=1)
    assert await refused.closed()
    back = await listener.accept_bind()
    mo = await back.receive()
    assert isinstance(mo, Deliver) and mo.message_content == b"hi"
    assert smsc.counters.bind_failures == 1


async def test_no_heartbeat(smsc: SmscServer[Any], listener: SpListener) -> None:
    sp = await connect(smsc)
    await sp.bind()
    assert smsc.ping() == 0


def test_options() -> None:
    dialect = dialect_for(
        "sgip",
        {"node_id": "100002", "callback_host": "10.0.0.1", "callback_port": "8801", "callback_login": "a"},
    )
    assert isinstance(dialect, SgipDialect) and dialect.node_id == 100002
    assert dialect.callback == CallbackTarget("10.0.0.1", 8801, "a", "")
    assert dialect_for("sgip").callback is None
    with pytest.raises(ValueError):
        dialect_for("sgip", {"node_id": str(1 << 32)})
