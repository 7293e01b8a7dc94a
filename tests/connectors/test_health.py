"""What a link tells the operator: its state since when, why it is not bound, its load; and the log."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.link import Connector
from smsplatform.connectors.meter import RateMeter
from smsplatform.connectors.model import OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.connectors.trouble import TroubleLog
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import FAST, eventually

SMPP = replace(FAST, name="smpp-link", protocol="smpp", system_id="esme", password="pw")
LINK_LOG = "smsplatform.connectors.link"

Link = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("smpp", {"esme": "pw"}, LastDigitRule(delay=0.01))
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


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LINK_LOG and r.levelno == logging.WARNING]


def infos(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LINK_LOG and r.levelno == logging.INFO]


async def test_a_refused_connection_names_the_address_and_the_cause(link: Link) -> None:
    port = closed_port()
    before = time.time()
    connector = await link(bound=False, port=port)
    await eventually(lambda: connector.stats().last_error != "")
    stats = connector.stats()
    assert stats.last_error == f"connect 127.0.0.1:{port}: connection refused"
    assert stats.last_error_at is not None and before <= stats.last_error_at <= time.time()
    assert stats.state in ("connecting", "backoff") and stats.binds == 0


async def test_a_refused_bind_names_the_status_and_its_meaning(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(bound=False, password="wrong")
    await eventually(lambda: smsc.counters.bind_failures >= 1)
    await eventually(lambda: connector.stats().last_error != "")
    assert connector.stats().last_error == "bind refused: status 0x0000000E (invalid password)"


async def test_a_silent_smsc_is_dropped_for_its_unanswered_enquire_link(
    smsc: SmscServer[Any], link: Link
) -> None:
    connector = await link(enquire_interval=0.05, response_timeout=0.1)
    session = next(iter(smsc.sessions))
    session.data_received = lambda data: None  # type: ignore[method-assign]  # a peer gone silent
    await eventually(lambda: connector.stats().last_error != "")
    assert connector.stats().last_error == "no answer to enquire_link"


async def test_since_marks_when_the_link_went_up_or_down_not_each_retry(
    smsc: SmscServer[Any], link: Link
) -> None:
    started = time.time()
    connector = await link()
    up = connector.stats()
    assert (up.state, up.binds, up.window) == ("bound", 1, SMPP.window)
    assert started <= up.since <= time.time()

    smsc.accounts["esme"] = "changed"  # the next binds are refused
    smsc.drop_connections()
    await eventually(lambda: smsc.counters.bind_failures >= 1)
    down = connector.stats()
    assert down.state in ("connecting", "backoff") and down.since >= up.since
    await eventually(lambda: smsc.counters.bind_failures >= 3)  # several retries later...
    assert connector.stats().since == down.since  # ...still down since the same moment

    smsc.accounts["esme"] = "pw"
    assert await connector.wait_bound(2.0)
    assert connector.stats().since >= down.since


async def test_in_flight_window_and_submit_rate(smsc: SmscServer[Any], link: Link) -> None:
    connector = await link(window=4)
    smsc.slow_responses(0.2)
    pending = [
        asyncio.create_task(connector.submit(OutboundSms(k, "1069", "13800138000", "hi"))) for k in range(6)
    ]
    await eventually(lambda: connector.stats().in_flight == 4)
    assert connector.stats().window == 4
    smsc.clear_faults()
    assert all(result.ok for result in await asyncio.gather(*pending))
    # The rate covers the span since the previous look of at least a second: it shows once that passed.
    await eventually(lambda: connector.stats().submit_rate > 0)
    assert connector.stats().submit_rate <= 6 / 1.0


async def test_stop_shows_stopped_since_the_stop(link: Link) -> None:
    connector = await link()
    before = time.time()
    await connector.stop()
    stats = connector.stats()
    assert (stats.state, stats.binds, stats.in_flight) == ("stopped", 0, 0)
    assert stats.since >= before


async def test_a_link_that_cannot_bind_warns_once_then_says_once_it_is_bound_again(
    smsc: SmscServer[Any], link: Link, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LINK_LOG)
    smsc.accounts["esme"] = "other"
    connector = await link(bound=False)
    await eventually(lambda: smsc.counters.bind_failures >= 5)
    assert warnings(caplog) == [
        "smpp-link: cannot bind as transceiver: bind refused: status 0x0000000E (invalid password)"
    ]
    assert infos(caplog) == []

    smsc.accounts["esme"] = "pw"
    assert await connector.wait_bound(2.0)
    [bound_again] = infos(caplog)
    assert bound_again.startswith("smpp-link: bound again as transceiver to 127.0.0.1:")
    assert "failures" in bound_again
    assert len(warnings(caplog)) == 1


async def test_a_first_bind_is_logged_once_and_a_drop_says_why(
    smsc: SmscServer[Any], link: Link, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LINK_LOG)
    connector = await link()
    assert [m.split(" to ")[0] for m in infos(caplog)] == ["smpp-link: bound as transceiver"]
    smsc.drop_connections()
    await eventually(lambda: connector.stats().reconnects == 1)
    assert await connector.wait_bound(2.0)
    [dropped] = warnings(caplog)
    assert dropped.startswith("smpp-link: transceiver session ended: ")
    assert infos(caplog)[-1].startswith("smpp-link: bound again as transceiver")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_are_summed_up_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="trouble-test")
    clock = FakeClock()
    trouble = TroubleLog(logging.getLogger("trouble-test"), "cmpp1", clock=clock)
    lines = lambda: [(r.levelname, r.getMessage()) for r in caplog.records]  # noqa: E731

    trouble.failed("cannot bind as transceiver: connect 10.0.0.1:7890: connection refused")
    for _ in range(29):  # a retry every two seconds for a minute: counted, not logged
        clock.now += 2
        trouble.failed("cannot bind as transceiver: connect 10.0.0.1:7890: connection refused")
    assert len(lines()) == 1
    clock.now += 2
    trouble.failed("cannot bind as transceiver: connect 10.0.0.1:7890: connection refused")
    assert lines()[-1] == (
        "WARNING",
        "cmpp1: still failing: cannot bind as transceiver: connect 10.0.0.1:7890: connection refused "
        "(30 failures in the last 60 s)",
    )
    clock.now += 1
    trouble.bound("transceiver", "10.0.0.1:7890")
    assert lines()[-1] == ("INFO", "cmpp1: bound again as transceiver to 10.0.0.1:7890, after 31 failures")
    assert len(lines()) == 3


def test_a_flapping_link_costs_one_warning_and_one_info_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trouble-test")
    clock = FakeClock()
    trouble = TroubleLog(logging.getLogger("trouble-test"), "smgp1", clock=clock)
    trouble.bound("transceiver", "peer")
    for _ in range(20):  # binds, and is dropped three seconds later, for a minute
        clock.now += 3
        trouble.failed("transceiver session ended: closed by peer")
        trouble.bound("transceiver", "peer")
    levels = [r.levelname for r in caplog.records]
    assert levels == ["INFO", "WARNING", "INFO"]
    clock.now += 3
    trouble.failed("transceiver session ended: closed by peer")
    assert caplog.records[-1].getMessage() == (
        "smgp1: transceiver session ended: closed by peer (and 19 failures in the 57 s before, not logged)"
    )


def test_rate_meter_measures_between_looks_a_second_or_more_apart() -> None:
    clock = FakeClock()
    meter = RateMeter(interval=1.0, clock=clock)
    assert meter.rate(0) == 0.0
    clock.now += 0.5
    assert meter.rate(100) == 0.0  # too soon: the last rate
    clock.now += 1.5
    assert meter.rate(400) == 200.0  # 400 over 2 s
    clock.now += 0.2
    assert meter.rate(450) == 200.0
    clock.now += 4.8
    assert meter.rate(450) == 10.0  # 50 over 5 s
