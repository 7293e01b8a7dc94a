"""The SMPP connector against the SMPP simulator over loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.connectors.smpp import SmppAdapter
from smsplatform.protocols.smpp.pdu import DeliverSm, SubmitSm
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import FAST, eventually

CHINESE_170 = "您好，这是一条很长的中文短信，用来检查长短信的拆分与重组是否正确。" * 5 + "谢谢配合！"
SMPP = replace(FAST, name="smpp-link", protocol="smpp", system_id="esme", password="pw")

Link = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("smpp", {"esme": "pw"}, LastDigitRule(delay=0.01))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def link(smsc: SmscServer[Any]) -> AsyncIterator[Link]:
    started: list[Connector] = []

    async def factory(bound: bool = True, **changes: Any) -> Connector:
        connector = create_connector(replace(SMPP, **{"port": smsc.port, **changes}))
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
    return OutboundSms(key=key, source="1069000101", destination=destination, text=text, **kw)


async def test_round_trip_with_receipt(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    results = await asyncio.gather(
        *(connector.submit(sms(key=k, destination=f"1380013800{k}")) for k in range(10))
    )

    assert all(r.ok for r in results)
    await eventually(lambda: len(reports) == 10)
    by_id = {r.remote_id: r for r in reports}
    for k, result in enumerate(results):
        report = by_id[result.remote_ids[0]]
        assert report.destination == f"1380013800{k}"
        assert report.stat == LastDigitRule().outcome(str(k)).stat
        assert len(report.submit_time) == 10 and len(report.done_time) == 10
    assert {m.text for m in smsc.received} == {"Your code is 1234"}
    await eventually(lambda: smsc.counters.receipts_acked == 10)


async def test_long_ucs2_message_in_three_segments(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    reports: list[DeliveryReport] = []
    connector.on_report = reports.append

    result = await connector.submit(sms(text=CHINESE_170, destination="13800138007"))

    assert result.ok and len(result.remote_ids) == 3
    assert [(m.text, m.message_ids) for m in smsc.received] == [(CHINESE_170, result.remote_ids)]
    await eventually(lambda: len(reports) == 3)
    assert {r.remote_id for r in reports} == set(result.remote_ids)
    assert {r.stat for r in reports} == {"UNDELIV"}


@pytest.mark.parametrize("mode", ["sar", "payload"])
async def test_other_long_message_modes(smsc: SmscServer[Any], link: Link, mode: str) -> None:
    connector = await link(extra={"long_message": mode})
    result = await connector.submit(sms(text=CHINESE_170))
    assert result.ok and len(result.remote_ids) == (3 if mode == "sar" else 1)
    assert smsc.received[0].text == CHINESE_170


async def test_long_gsm_text_uses_153_septet_segments(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    text = "Hello [world] " * 18  # 252 characters, 288 septets with the escapes: 2 segments
    result = await connector.submit(sms(text=text))
    assert result.ok and len(result.remote_ids) == 2
    assert smsc.received[0].text == text


async def test_mo_injected_reaches_on_inbound(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    inbound: list[InboundSms] = []
    connector.on_inbound = inbound.append

    smsc.inject_mo("13900139000", "106900010123", "TD")
    smsc.inject_mo("13900139000", "106900010123", CHINESE_170)

    await eventually(lambda: len(inbound) == 2)
    assert inbound[0] == InboundSms("13900139000", "106900010123", "TD", "smpp-link")
    assert inbound[1].text == CHINESE_170
    await eventually(lambda: smsc.counters.mo_acked == 4)


async def test_transmitter_and_receiver_sessions(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bind_mode=BindMode.TRANSMITTER_RECEIVER)
    reports: list[DeliveryReport] = []
    inbound: list[InboundSms] = []
    connector.on_report, connector.on_inbound = reports.append, inbound.append

    result = await connector.submit(sms())
    smsc.inject_mo("13900139000", "1069000101", "hello")

    await eventually(lambda: len(reports) == 1 and len(inbound) == 1)
    assert reports[0].remote_id == result.remote_ids[0]
    assert {(s.transmits, s.receives) for s in smsc.sessions} == {(True, False), (False, True)}


async def test_window_of_16(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.05)
    results = await asyncio.gather(*(connector.submit(sms(key=k)) for k in range(64)))
    assert all(r.ok for r in results)
    assert smsc.counters.max_unanswered == 16


async def test_tps_cap(link: Link) -> None:
    connector = await link(tps=100)
    started = time.monotonic()
    results = await asyncio.gather(*(connector.submit(sms(key=k)) for k in range(50)))
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.4


async def test_enquire_link_both_ways(smsc: SmscServer[Any], link: Link) -> None:
    await link(enquire_interval=0.05)
    await eventually(lambda: smsc.counters.link_tests_received >= 1)
    smsc.ping()
    await eventually(lambda: smsc.counters.link_tests_answered == 1)


async def test_reconnect_after_drop_reports_in_flight(smsc: SmscServer[Any], link: Link) -> None:
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


async def test_a_drop_under_heavy_load_does_not_stall_the_submitters(
    smsc: SmscServer[Any], link: Link
) -> None:
    # Hundreds of submitters waiting on the window when the link drops: each must get an answer
    # (sent, or transient) and the link must come back, not spin on the dead session. The response
    # timeout is long, so that only the drop can fail a submit (on a loaded machine an answer can take
    # longer than the fixture's half second).
    connector = await link(response_timeout=5.0)
    pending = [
        asyncio.create_task(connector.submit(sms(key=n, destination=f"1380000{n:04d}"))) for n in range(800)
    ]
    await eventually(lambda: connector.stats().sent >= 50)
    assert smsc.drop_connections() == 1
    results = await asyncio.wait_for(asyncio.gather(*pending), timeout=30)
    assert all(r.ok or r.transient for r in results)
    assert sum(r.ok for r in results) >= 800 - 16  # at most one window was in flight at the drop
    assert await connector.wait_bound(5.0)


async def test_throttled_and_timeout_are_transient(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(response_timeout=0.1)
    smsc.throttle(1.0)
    throttled = await connector.submit(sms(key=1))
    assert (throttled.ok, throttled.transient, throttled.maybe_sent, throttled.error) == (
        False,
        True,
        False,
        "0x00000058",
    )
    smsc.clear_faults()
    smsc.drop_responses(1.0)
    lost = await connector.submit(sms(key=2))
    assert (lost.ok, lost.transient, lost.maybe_sent, lost.error) == (False, True, True, "timeout")


async def test_wrong_password(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bound=False, password="nope")
    await eventually(lambda: smsc.counters.bind_failures >= 1)
    await eventually(
        lambda: connector.stats().last_error == "bind refused: status 0x0000000E (invalid password)"
    )
    assert connector.stats().state != "bound"


async def test_password_too_long_for_smpp_is_reported_not_raised(link: Link) -> None:
    connector = await link(bound=False, password="much-too-long")
    await eventually(lambda: connector.stats().last_error.startswith("cannot send the bind"))
    assert "password" in connector.stats().last_error and connector.stats().state != "bound"


async def test_address_too_long_is_a_permanent_failure(link: Link) -> None:
    connector = await link()
    result = await connector.submit(sms(destination="1" * 30))
    assert (result.ok, result.transient, result.maybe_sent) == (False, False, False)
    assert result.error.startswith("invalid message") and connector.stats().in_flight == 0
    assert (await connector.submit(sms())).ok


async def test_graceful_stop_unbinds(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link()
    smsc.slow_responses(0.1)
    pending = asyncio.create_task(connector.submit(sms()))
    await eventually(lambda: connector.stats().in_flight == 1)
    await connector.stop()
    assert (await pending).ok
    await eventually(lambda: not smsc.sessions)
    assert connector.stats().state == "stopped"


async def test_decimal_receipt_ids_match_hex_submit_ids() -> None:
    adapter = SmppAdapter(replace(SMPP, extra={"id_base": "hex", "receipt_id_base": "dec"}))
    receipt = DeliverSm(
        sequence=3,
        source_addr="13800138000",
        esm_class=0x04,
        short_message=b"id:0000006699 sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 "
        b"stat:DELIVRD err:000 Text:hi",
    )
    report = adapter.read_deliver(receipt).report
    assert report is not None and report.remote_id == "1A2B"
    from_tlv = replace(receipt, tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "00001a2b"),))
    assert (r := adapter.read_deliver(from_tlv).report) is not None and r.remote_id == "1A2B"


async def test_fixed_encoding_and_data_coding_options() -> None:
    adapter = SmppAdapter(replace(SMPP, extra={"encoding": "latin1", "data_coding": "0x00"}))
    sequences = iter(range(1, 100))
    [latin] = adapter.build_submits(sms(text="café"), lambda: next(sequences))
    assert isinstance(latin, SubmitSm) and (latin.data_coding, latin.short_message) == (
        0,
        "café".encode("latin-1"),
    )
    [chinese] = adapter.build_submits(sms(text="你好"), lambda: next(sequences))
    assert isinstance(chinese, SubmitSm) and chinese.data_coding == 0x08  # falls back to UCS-2
    assert (latin.sequence, chinese.sequence) == (1, 2)


async def test_unencodable_text_is_a_permanent_failure(link: Link) -> None:
    connector = await link()
    result = await connector.submit(sms(text="x" * 40_000))  # more than 255 segments
    assert (result.ok, result.transient, result.maybe_sent) == (False, False, False)
    assert result.error.startswith("invalid message")


def test_registry_knows_smpp_and_refuses_unknown() -> None:
    assert isinstance(create_connector(SMPP).adapter, SmppAdapter)
    with pytest.raises(ValueError, match="no connector"):
        create_connector(replace(SMPP, protocol="carrier-pigeon"))


def test_config_defaults_are_the_protocols() -> None:
    connector = create_connector(ConnectorConfig("x", "smpp", "h", 1, "s", "p"))
    assert (connector.settings.window, connector.settings.response_timeout) == (16, 30.0)
    assert connector.stats().state == "stopped"
