"""Session behaviour a well-behaved SMSC never shows: broken PDUs, and SMSCs that connect to us."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from smsplatform.connectors.adapter import SessionRole
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.protocols.link.core import Event, LateResponse
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import FAST, ConnectorFactory, eventually
from tests.connectors.fake_protocol import (
    BAD_LOGIN,
    BIND,
    DELIVER,
    HEADER,
    NACK,
    REFUSED,
    RESPONSE,
    FakeAdapter,
    Frame,
    Reader,
    encode,
)


async def test_undecodable_pdu_is_answered_and_the_link_goes_on(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    peer = next(iter(smsc.sessions))
    replies: list[Frame] = []
    original = peer._handle

    def handle(event: Event) -> None:
        if isinstance(event, LateResponse) and event.pdu.command == NACK:  # answers nothing it sent
            replies.append(event.pdu)
        else:
            original(event)

    peer._handle = handle  # type: ignore[method-assign]

    peer.write(HEADER.pack(HEADER.size, 0x42, 77, 0))  # well framed, unknown command

    await eventually(lambda: bool(replies))
    assert replies[0].sequence == 77
    assert (await link.submit(OutboundSms(1, "1069", "13800138000", "still here"))).ok
    assert link.stats().reconnects == 0


async def test_lost_framing_drops_the_link_and_rebinds(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    next(iter(smsc.sessions)).write(b"\x00\x00\x00\x03garbage")
    await eventually(lambda: link.stats().reconnects == 1 and link.stats().state == "bound")
    assert link.stats().last_error.startswith("framing lost")


async def test_unexpected_deliver_before_bind_is_refused() -> None:
    connector, port = await listening_connector()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(Frame(DELIVER, 5, 0, b"Rid\0DELIVRD\x00000\x0013800138000")))
        answer = await read_frame(reader)
        assert (answer.command, answer.sequence, answer.status) == (NACK, 5, REFUSED)
        writer.close()
    finally:
        await connector.stop()


async def test_accepted_session_checks_login_and_takes_reports() -> None:
    connector, port = await listening_connector()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(Frame(BIND, 1, 0, b"smsc\0secret\0trx")))
        assert (await read_frame(reader)).status == 0
        writer.write(encode(Frame(DELIVER, 2, 0, b"RABC\0DELIVRD\x00000\x0013800138000")))
        ack = await read_frame(reader)
        assert (ack.command, ack.sequence, ack.status) == (DELIVER | RESPONSE, 2, 0)
        assert reports == [DeliveryReport("ABC", "DELIVRD", "000", "13800138000", "", "", "fake-link")]
        writer.close()

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(encode(Frame(BIND, 1, 0, b"smsc\0guess\0trx")))
        assert (await read_frame(reader)).status == BAD_LOGIN
        assert await reader.read() == b""  # closed after the refusal
        writer.close()
    finally:
        await connector.stop()


async def listening_connector() -> tuple[Connector, int]:
    """A connector with no SMSC to reach, but listening for the SMSC's own connections."""
    config = replace(FAST, port=1, reconnect_initial=5.0)
    adapter = FakeAdapter(config)
    adapter.listen = ("127.0.0.1", 0)
    connector = Connector(config, adapter)
    await connector.start()
    assert connector.listen_port is not None
    return connector, connector.listen_port


async def read_frame(stream: asyncio.StreamReader) -> Frame:
    frames = Reader()
    while True:
        frames.receive_data(await asyncio.wait_for(stream.read(4096), 2.0))
        frame = frames.next_pdu()
        if frame is not None:
            return frame


async def test_smsc_that_connects_back_delivers_through_our_listener(smsc: SmscServer[Any]) -> None:
    config = replace(FAST, port=smsc.port, system_id="esme", password="pw")
    adapter = FakeAdapter(config)
    adapter.listen, adapter.roles = ("127.0.0.1", 0), (SessionRole.TRANSMITTER,)
    connector = Connector(config, adapter)
    reports: list[DeliveryReport] = []
    inbound: list[InboundSms] = []
    connector.on_report, connector.on_inbound = reports.append, inbound.append
    await connector.start()
    try:
        assert await connector.wait_bound(2.0) and connector.listen_port is not None
        smsc.redeliver_delay = 0.02
        smsc.connect_back("esme", "127.0.0.1", connector.listen_port, "smsc", "wrong")
        result = await connector.submit(OutboundSms(1, "1069", "13800138000", "hi"))
        assert result.ok
        await eventually(lambda: smsc.counters.bind_failures >= 2)  # refused, and tried again
        assert not reports

        smsc.connect_back("esme", "127.0.0.1", connector.listen_port, "smsc", "secret")
        smsc.inject_mo("13900139000", "1069", "TD")
        await eventually(lambda: len(reports) == 1 and len(inbound) == 1)
        assert reports[0].remote_id == result.remote_ids[0]
        bound = {(s.transmits, s.receives) for s in smsc.sessions if s.bound}
        assert bound == {(True, False), (False, True)}  # ours to it, and its own back to us
    finally:
        await connector.stop()
