"""The link engine end to end over loopback, with the toy protocol on both sides."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from smsplatform.connectors.config import BindMode
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import ConnectorFactory, eventually

LONG_CHINESE = (
    "您好，这是一条很长的中文短信，用来检查长短信的拆分与重组是否正确。" * 5
)  # 170 characters: 3 UCS-2 segments


def waiting_for_a_slot(link: Connector) -> int:
    """Submits queued on the link's sessions for a slot of their window."""
    return sum(session.waiting for session in link._current.values())


def sms(key: int = 1, text: str = "hello", destination: str = "13800138000", **kw: Any) -> OutboundSms:
    return OutboundSms(key=key, source="10690001", destination=destination, text=text, **kw)


async def test_submit_gets_remote_id_and_matching_receipt(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    reports: list[DeliveryReport] = []
    link.on_report = reports.append

    result = await link.submit(sms(key=7, destination="13800138007"))

    assert result.ok and result.key == 7 and len(result.remote_ids) == 1
    assert (result.transient, result.maybe_sent, result.error) == (False, False, "")
    await eventually(lambda: len(reports) == 1)
    assert reports[0].remote_id == result.remote_ids[0]
    assert reports[0].stat == "UNDELIV"  # last digit 7
    assert reports[0].connector == "fake-link"
    assert smsc.received[0].text == "hello" and smsc.received[0].system_id == "esme"
    stats = link.stats()
    assert (stats.state, stats.sent, stats.errors, stats.received_reports) == ("bound", 1, 0, 1)


async def test_long_message_is_reassembled_and_each_segment_receipted(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    reports: list[DeliveryReport] = []
    link.on_report = reports.append

    result = await link.submit(sms(text=LONG_CHINESE))

    assert result.ok and len(result.remote_ids) == 3 and len(set(result.remote_ids)) == 3
    assert [m.text for m in smsc.received] == [LONG_CHINESE]
    assert smsc.received[0].message_ids == result.remote_ids
    await eventually(lambda: len(reports) == 3)
    assert sorted(r.remote_id for r in reports) == sorted(result.remote_ids)


async def test_no_receipt_when_not_wanted(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect()
    reports: list[DeliveryReport] = []
    link.on_report = reports.append
    assert (await link.submit(sms(want_receipt=False))).ok
    reported = await link.submit(sms(key=2))
    await eventually(lambda: len(reports) == 1)  # receipts leave in order: the first's would be here
    assert reports[0].remote_id == reported.remote_ids[0] and smsc.counters.receipts_sent == 1


async def test_mo_reaches_on_inbound_reassembled(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect()
    inbound: list[InboundSms] = []
    link.on_inbound = inbound.append

    smsc.inject_mo("13900139000", "1069000123", "TD")
    smsc.inject_mo("13900139000", "1069000123", LONG_CHINESE)

    await eventually(lambda: len(inbound) == 2)
    assert inbound[0] == InboundSms("13900139000", "1069000123", "TD", "fake-link")
    assert inbound[1].text == LONG_CHINESE
    await eventually(lambda: smsc.counters.mo_acked == 4)
    assert link.stats().received_mo == 2


async def test_window_caps_unanswered_submits(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect(window=16)
    smsc.slow_responses(0.05)
    observed: list[int] = []

    async def watch() -> None:
        while True:
            observed.append(link.stats().in_flight)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(link.submit(sms(key=i)) for i in range(80)))
    watcher.cancel()

    assert all(r.ok for r in results)
    assert smsc.counters.max_unanswered == 16
    assert max(observed) <= 16


async def test_submits_waiting_for_the_window_leave_in_arrival_order(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(window=1)
    smsc.slow_responses(0.01)
    destinations = [f"138001380{n:02d}" for n in range(8)]
    results = await asyncio.gather(
        *(link.submit(sms(key=n, destination=d)) for n, d in enumerate(destinations))
    )
    assert all(r.ok for r in results)
    assert [m.destination for m in smsc.received] == destinations


async def test_a_cancelled_submit_waiting_for_the_window_never_leaves(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(window=1)
    smsc.slow_responses(0.1)
    first = asyncio.create_task(link.submit(sms(key=1)))
    await eventually(lambda: link.stats().in_flight == 1)
    second = asyncio.create_task(link.submit(sms(key=2, destination="13800138002")))
    await eventually(lambda: waiting_for_a_slot(link) == 1)
    second.cancel()

    assert (await first).ok
    assert (await link.submit(sms(key=3, destination="13800138003"))).ok  # its slot was not lost
    assert second.cancelled()
    # Submits leave in order: the second would have reached the SMSC before the third.
    assert [m.destination for m in smsc.received] == ["13800138000", "13800138003"]
    assert link.stats().in_flight == 0


async def test_submits_waiting_for_the_window_go_on_the_next_session(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(window=2)
    smsc.slow_responses(0.3)
    pending = [asyncio.create_task(link.submit(sms(key=i))) for i in range(5)]
    await eventually(lambda: link.stats().in_flight == 2)

    smsc.drop_connections()
    smsc.clear_faults()
    results = await asyncio.gather(*pending)

    sent_before, waiting = results[:2], results[2:]
    assert all(not r.ok and r.maybe_sent and r.error == "link lost" for r in sent_before)
    assert all(r.ok for r in waiting)  # never left the first session, so sent on the second


async def test_tps_cap_spaces_submits(connect: ConnectorFactory) -> None:
    link = await connect(tps=100)
    started = time.monotonic()
    results = await asyncio.gather(*(link.submit(sms(key=i)) for i in range(50)))
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.4


async def test_link_tests_sent_when_idle_and_answered(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(enquire_interval=0.05)
    await eventually(lambda: smsc.counters.link_tests_received >= 2)
    assert smsc.ping() == 1
    await eventually(lambda: smsc.counters.link_tests_answered == 1)
    assert link.stats().state == "bound"


async def test_unanswered_link_test_drops_and_rebinds(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(enquire_interval=0.05, response_timeout=0.1)
    session = next(iter(smsc.sessions))
    session.data_received = lambda data: None  # type: ignore[method-assign]  # a peer gone silent
    await eventually(lambda: link.stats().reconnects >= 1)
    assert link.stats().last_error == "no answer to link test"


async def test_drop_connections_fails_in_flight_then_rebinds(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    smsc.slow_responses(0.3)
    pending = [asyncio.create_task(link.submit(sms(key=i))) for i in range(5)]
    await eventually(lambda: link.stats().in_flight == 5)

    assert smsc.drop_connections() == 1
    results = await asyncio.gather(*pending)

    assert all(not r.ok and r.transient and r.maybe_sent for r in results)
    assert {r.error for r in results} == {"link lost"}
    smsc.clear_faults()
    assert await link.wait_bound(2.0)
    assert (await link.submit(sms(key=99))).ok
    assert link.stats().reconnects == 1


async def test_submit_while_unbound_waits_for_the_bind(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    smsc.drop_connections()
    await eventually(lambda: link.stats().state != "bound")
    result = await link.submit(sms())  # the link is rebinding; submit waits for it
    assert result.ok


async def test_throttled_is_transient_and_not_sent(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect()
    smsc.throttle(1)
    throttled = await link.submit(sms(key=1))
    assert (throttled.ok, throttled.transient, throttled.maybe_sent) == (False, True, False)
    assert throttled.error == "0x00000058"
    assert (await link.submit(sms(key=2))).ok
    assert smsc.counters.throttled == 1


async def test_missing_response_times_out_as_maybe_sent(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(response_timeout=0.1, response_tries=2)
    smsc.drop_responses(1.0)

    result = await link.submit(sms())

    assert (result.ok, result.transient, result.maybe_sent, result.error) == (False, True, True, "timeout")
    assert smsc.counters.submits == 2  # sent twice: response_tries=2
    stats = link.stats()
    assert (stats.timeouts, stats.errors, stats.in_flight) == (1, 1, 0)


async def test_late_response_is_counted_not_misattributed(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(response_timeout=0.05)
    smsc.slow_responses(0.2)
    result = await link.submit(sms())
    assert result.error == "timeout"
    await eventually(lambda: link.stats().late_responses == 1)


async def test_wrong_password_does_not_bind(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect(bound=False, password="wrong", bind_wait=0.1)
    await eventually(lambda: smsc.counters.bind_failures >= 2)
    stats = link.stats()
    assert stats.state in ("backoff", "connecting")
    assert stats.last_error == "bind refused: 0x0000000E"
    assert not await link.wait_bound(0.05)
    result = await link.submit(sms())
    assert (result.ok, result.transient, result.maybe_sent, result.error) == (False, True, False, "not bound")


async def test_unreachable_smsc_backs_off(connect: ConnectorFactory) -> None:
    link = await connect(bound=False, port=1, bind_wait=0.05)
    await eventually(lambda: link.stats().state == "backoff")
    assert link.stats().last_error.startswith("connect 127.0.0.1:1: connection refused")
    assert not (await link.submit(sms())).ok


async def test_graceful_stop_waits_for_in_flight_and_unbinds(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    smsc.slow_responses(0.1)
    pending = [asyncio.create_task(link.submit(sms(key=i))) for i in range(3)]
    await eventually(lambda: link.stats().in_flight == 3)

    await link.stop()

    assert all(r.ok for r in await asyncio.gather(*pending))
    assert link.stats().state == "stopped"
    await eventually(lambda: not smsc.sessions)
    after = await link.submit(sms(key=9))
    assert (after.ok, after.error) == (False, "stopped")


async def test_receipt_acknowledged_only_after_async_handler(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    release = asyncio.Event()
    stored: list[str] = []

    async def store(report: DeliveryReport) -> None:
        await release.wait()
        stored.append(report.remote_id)

    first = await link.submit(sms())
    link.on_report = lambda report: store(report) if report.remote_id == first.remote_ids[0] else None
    assert first.ok and (await link.submit(sms(key=2))).ok
    # The second report, stored at once, is acknowledged; the first, taken before it, still is not.
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert smsc.pending_delivers("esme") == 1
    release.set()
    await eventually(lambda: smsc.counters.receipts_acked == 2)
    assert stored == [first.remote_ids[0]]


async def test_receipt_acknowledged_when_the_handlers_future_is_done(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    futures: list[asyncio.Future[None]] = []

    first = await link.submit(sms())

    def store(report: DeliveryReport) -> asyncio.Future[None] | None:
        if report.remote_id != first.remote_ids[0]:
            return None  # stored at once
        futures.append(asyncio.get_running_loop().create_future())
        return futures[-1]

    link.on_report = store
    assert first.ok and (await link.submit(sms(key=2))).ok
    # The second report, stored at once, is acknowledged; the first, taken before it, still is not.
    await eventually(lambda: smsc.counters.receipts_acked == 1 and len(futures) == 1)
    assert smsc.pending_delivers("esme") == 1
    futures[0].set_exception(RuntimeError("database down"))  # not stored: the SMSC sends it again
    await eventually(lambda: len(futures) == 2)
    assert smsc.counters.receipts_acked == 1
    futures[1].set_result(None)
    await eventually(lambda: smsc.counters.receipts_acked == 2)


async def test_failing_handler_gets_the_report_redelivered(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect()
    calls: list[DeliveryReport] = []

    def flaky(report: DeliveryReport) -> None:
        calls.append(report)
        if len(calls) == 1:
            raise RuntimeError("database down")

    link.on_report = flaky
    assert (await link.submit(sms())).ok
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert len(calls) == 2 and calls[0] == calls[1]


async def test_transmitter_receiver_pair(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect(bind_mode=BindMode.TRANSMITTER_RECEIVER)
    reports: list[DeliveryReport] = []
    inbound: list[InboundSms] = []
    link.on_report, link.on_inbound = reports.append, inbound.append

    assert len(smsc.sessions) == 2
    assert (await link.submit(sms())).ok
    smsc.inject_mo("13900139000", "10690001", "hi")
    await eventually(lambda: len(reports) == 1 and len(inbound) == 1)
    assert smsc.counters.binds == 2
