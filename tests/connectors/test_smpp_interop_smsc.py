"""Our SMPP connector against an SMSC we did not write: node-smpp 0.5.1 (npm), run by interop/smsc.js.

The server script only wires node-smpp's own PDU codec to a few SMSC habits: it checks the bind
credentials, answers submit_sm with a hex message id, reassembles concatenated segments, sends an
Appendix B receipt as text in a deliver_sm (esm_class 0x04) and, on command, an MO, a link test or
an unbind. It reports what it saw as JSON lines, so the assertions read node-smpp's decoding of our
PDUs, not our own.

Needs node and `npm ci --prefix tests/connectors/interop`; skipped when either is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from smsplatform.connectors.config import BindMode
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from tests.connectors.conftest import FAST, eventually

INTEROP = Path(__file__).parent / "interop"
NODE = shutil.which("node")
SYSTEM_ID, PASSWORD = "esme01", "s3cret"
SMPP = replace(FAST, name="node-smsc", protocol="smpp", system_id=SYSTEM_ID, password=PASSWORD)
CHINESE_176 = "您好，您的订单已经发货，快递单号请在应用内查看。如有疑问请联系客服，我们将竭诚为您服务。" * 4
ESM_CLASS_UDHI = 0x40

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed: the foreign-SMSC interop test needs it"),
    pytest.mark.skipif(
        not (INTEROP / "node_modules" / "smpp").is_dir(),
        reason="node-smpp is not installed: run `npm ci --prefix tests/connectors/interop`",
    ),
]

Event = dict[str, Any]


class NodeSmsc:
    """interop/smsc.js as a child process: its events come in on stdout, commands go out on stdin."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[Event] = []
        self.port = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls) -> NodeSmsc:
        assert NODE is not None
        process = await asyncio.create_subprocess_exec(
            NODE,
            str(INTEROP / "smsc.js"),
            SYSTEM_ID,
            PASSWORD,
            cwd=INTEROP,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        smsc = cls(process)
        smsc.port = (await smsc.wait_for("listening", within=5.0))["port"]
        return smsc

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.events.append(json.loads(line))

    def seen(self, event: str, **fields: Any) -> list[Event]:
        """The events named `event` whose fields include `fields`, in the order they came."""
        return [
            e for e in self.events if e["event"] == event and all(e.get(k) == v for k, v in fields.items())
        ]

    async def wait_for(self, event: str, count: int = 1, within: float = 3.0, **fields: Any) -> Event:
        """The `count`-th matching event, once it has come; fails the test when it does not."""
        await eventually(lambda: len(self.seen(event, **fields)) >= count or self._reader.done(), within)
        matching = self.seen(event, **fields)
        assert len(matching) >= count, f"the SMSC exited before {event} {fields}: {self.events}"
        return matching[count - 1]

    def command(self, cmd: str, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the script exits when its stdin ends
        try:
            await asyncio.wait_for(self.process.wait(), 3.0)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self._reader


Link = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def smsc() -> AsyncIterator[NodeSmsc]:
    server = await NodeSmsc.start()
    yield server
    await server.close()


@pytest.fixture
async def link(smsc: NodeSmsc) -> AsyncIterator[Link]:
    started: list[Connector] = []

    async def factory(bound: bool = True, **changes: Any) -> Connector:
        connector = create_connector(replace(SMPP, **{"port": smsc.port, **changes}))
        started.append(connector)
        await connector.start()
        if bound:
            assert await connector.wait_bound(3.0)
        return connector

    yield factory
    for connector in started:
        await connector.stop()


def sms(text: str = "Your code is 1234", destination: str = "13800138000", key: int = 1) -> OutboundSms:
    return OutboundSms(key=key, source="1069000", destination=destination, text=text)


async def test_bind_and_link_tests_both_ways(smsc: NodeSmsc, link: Link) -> None:
    connector = await link(enquire_interval=0.05)

    assert (await smsc.wait_for("bind"))["command"] == "bind_transceiver"
    await smsc.wait_for("enquire_link", count=2)  # node-smpp answered the first: we kept going
    smsc.command("enquire_link")
    assert (await smsc.wait_for("enquire_link_resp"))["status"] == 0
    assert connector.stats().state == "bound" and connector.stats().reconnects == 0


async def test_wrong_password_is_refused(smsc: NodeSmsc, link: Link) -> None:
    connector = await link(bound=False, password="wrong")

    assert (await smsc.wait_for("bind"))["status"] == 0x0E  # ESME_RINVPASWD, header-only response
    await eventually(
        lambda: connector.stats().last_error == "bind refused: status 0x0000000E (invalid password)"
    )
    assert not await connector.wait_bound(0.2)
    assert not smsc.seen("bind", status=0)


@pytest.mark.parametrize("extra", [{}, {"id_base": "hex"}], ids=["opaque-ids", "hex-ids"])
async def test_submit_gets_an_id_and_its_receipt(smsc: NodeSmsc, link: Link, extra: dict[str, str]) -> None:
    connector = await link(extra=extra)
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    result = await connector.submit(sms())

    submitted = await smsc.wait_for("submit_sm")
    remote_id = submitted["id"].upper() if extra else submitted["id"]  # hex ids are compared upper-case
    assert result.ok and result.remote_ids == (remote_id,)
    assert (submitted["source"], submitted["destination"], submitted["registered_delivery"]) == (
        "1069000",
        "13800138000",
        1,
    )
    assert submitted["text"] == "Your code is 1234"
    await eventually(lambda: len(reports) == 1)
    [report] = reports
    assert (report.remote_id, report.stat, report.err, report.destination) == (
        remote_id,
        "DELIVRD",
        "000",
        "13800138000",
    )
    assert len(report.submit_time) == len(report.done_time) == 10
    assert (await smsc.wait_for("deliver_sm_resp", kind="receipt"))["status"] == 0


async def test_gsm_escapes_read_back_by_node_smpp(smsc: NodeSmsc, link: Link) -> None:
    connector = await link()
    text = "Total: 5€ [promo] {ok} ~x^ @home_"

    assert (await connector.submit(sms(text=text))).ok

    submitted = await smsc.wait_for("submit_sm")
    assert (submitted["data_coding"], submitted["text"]) == (0, text)


async def test_long_ucs2_message_in_segments_with_udh(smsc: NodeSmsc, link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    result = await connector.submit(sms(text=CHINESE_176))

    assert result.ok and len(result.remote_ids) == 3
    message = await smsc.wait_for("message")
    assert (message["text"], tuple(message["ids"])) == (CHINESE_176, result.remote_ids)
    segments = smsc.seen("submit_sm")
    headers = [(s["segment"]["ref"], s["segment"]["total"], s["segment"]["seq"]) for s in segments]
    assert headers == [(headers[0][0], 3, seq) for seq in (1, 2, 3)]  # one reference for the set
    assert all(s["data_coding"] == 0x08 and s["esm_class"] & ESM_CLASS_UDHI for s in segments)
    await eventually(lambda: len(reports) == 3)
    assert {r.remote_id for r in reports} == set(result.remote_ids)


@pytest.mark.parametrize(("mode", "parts"), [("sar", 3), ("payload", 1)])
async def test_other_long_message_modes(smsc: NodeSmsc, link: Link, mode: str, parts: int) -> None:
    connector = await link(extra={"long_message": mode})

    result = await connector.submit(sms(text=CHINESE_176))

    assert result.ok and len(result.remote_ids) == parts
    message = await smsc.wait_for("message")
    assert (message["text"], tuple(message["ids"])) == (CHINESE_176, result.remote_ids)


async def test_mo_reaches_on_inbound(smsc: NodeSmsc, link: Link) -> None:
    connector = await link()
    inbound: list[InboundSms] = []
    connector.on_inbound = inbound.append

    smsc.command("mo", source="13900139000", destination="106900012", text="TD")
    smsc.command("mo", source="13900139000", destination="106900012", text=CHINESE_176)

    await eventually(lambda: len(inbound) == 2)
    assert inbound[0] == InboundSms("13900139000", "106900012", "TD", "node-smsc")
    assert inbound[1] == InboundSms("13900139000", "106900012", CHINESE_176, "node-smsc")
    await smsc.wait_for("deliver_sm_resp", count=4, kind="mo")
    assert {e["status"] for e in smsc.seen("deliver_sm_resp")} == {0}


async def test_transmitter_and_receiver_pair(smsc: NodeSmsc, link: Link) -> None:
    connector = await link(bind_mode=BindMode.TRANSMITTER_RECEIVER)
    reports: list[DeliveryReport] = []
    inbound: list[InboundSms] = []
    connector.on_report, connector.on_inbound = reports.append, inbound.append

    result = await connector.submit(sms())
    smsc.command("mo", source="13900139000", destination="1069000", text="hello")

    await eventually(lambda: len(reports) == 1 and len(inbound) == 1)
    assert reports[0].remote_id == result.remote_ids[0]
    assert {e["command"] for e in smsc.seen("bind", status=0)} == {"bind_transmitter", "bind_receiver"}


async def test_unbind_either_way(smsc: NodeSmsc, link: Link) -> None:
    connector = await link(reconnect_initial=0.01)

    smsc.command("unbind")  # the SMSC leaves: we answer, then bind again
    assert (await smsc.wait_for("unbind_resp"))["status"] == 0
    await smsc.wait_for("bind", count=2, status=0)
    assert await connector.wait_bound(2.0)

    await connector.stop()  # we leave: unbind, answered, and the socket closed
    await smsc.wait_for("unbind")
    await smsc.wait_for("closed", count=2)
    assert connector.stats().state == "stopped"
