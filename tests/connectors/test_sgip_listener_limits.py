"""The SGIP connector's own listener (where the SMG connects back): login timeout, connections per
source address, failed-login delay and a PDU left unfinished, over real sockets, timed from outside."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.registry import create_connector
from smsplatform.protocols.admission import ListenerLimits
from tests.connectors.conftest import FAST, eventually
from tests.connectors.listener_probe import LOGIN, PROMPTLY, SECRET, Probe, smg_login


def closed_port() -> int:
    """A loopback port nothing listens on: the link's own binds fail, its listener is what is tested."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SGIP = replace(
    FAST,
    name="sgip-link",
    protocol="sgip",
    system_id="sp",
    password="pw",
    reconnect_initial=5.0,
    extra={"listen_port": "0", "listen_login": LOGIN, "listen_password": SECRET},
)
LOGIN_AS_SMG = smg_login()

Listener = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    """Start an SGIP link with these listener limits (and config changes); gives it back started."""
    started: list[Connector] = []

    async def start(limits: ListenerLimits | None = None, **changes: Any) -> Connector:
        config: ConnectorConfig = replace(SGIP, **{"port": closed_port(), **changes})
        connector = create_connector(config, listener_limits=limits)
        started.append(connector)
        await connector.start()
        assert connector.listen_port is not None
        return connector

    yield start
    for connector in started:
        await connector.stop()


async def connect(connector: Connector) -> Probe:
    assert connector.listen_port is not None
    return await Probe.connect(connector.listen_port, LOGIN_AS_SMG)


@pytest.mark.parametrize("sends", ["nothing", "half a login"])
async def test_a_connection_that_does_not_log_in_is_closed_at_the_login_timeout(
    listener: Listener, sends: str
) -> None:
    connector = await listener(ListenerLimits(login_timeout=0.3))
    opened = time.monotonic()
    smg = await connect(connector)
    if sends == "half a login":
        frame, _ = LOGIN_AS_SMG.ask(LOGIN, SECRET)
        smg.send(frame[: len(frame) // 2])

    await smg.closed_within(1.5)

    assert time.monotonic() - opened >= 0.3


async def test_a_login_in_time_keeps_the_connection(listener: Listener) -> None:
    connector = await listener(ListenerLimits(login_timeout=0.3))
    bound, idle = await connect(connector), await connect(connector)
    assert (await bound.log_in())[0]

    await idle.closed_within(1.5)  # the login timeout has passed
    assert not (await bound.log_in())[0]  # and the bound one is still served (one Bind each)
    assert connector.stats().binds == 1
    await bound.close()


async def test_connections_over_the_cap_are_closed_before_anything_is_read(listener: Listener) -> None:
    connector = await listener(ListenerLimits(max_connections_per_source=3))
    held = [await connect(connector) for _ in range(3)]

    over = await connect(connector)
    over.send(LOGIN_AS_SMG.ask(LOGIN, SECRET)[0])
    assert await over.closed_within(2.0) < PROMPTLY

    for smg in held:  # the three stay open and are served
        assert (await smg.log_in())[0]
    assert connector.stats().binds == 3

    await held[0].close()  # a connection that ends frees its place
    await eventually(lambda: connector.stats().binds == 2)
    again = await connect(connector)
    assert (await again.log_in())[0]
    for smg in [*held[1:], again]:
        await smg.close()


async def test_failed_logins_slow_down_every_answer_until_one_succeeds(listener: Listener) -> None:
    delay = 0.05
    connector = await listener(ListenerLimits(login_failure_delay=delay, login_failure_delay_max=10.0))

    took = []
    for _ in range(5):
        smg = await connect(connector)
        accepted, seconds = await smg.log_in("guess")
        assert not accepted
        took.append(seconds)
        await smg.closed_within(2.0)  # a refused login closes the connection

    # The first failure is answered at once; each one after it waits twice as long as the one before.
    for failures_before, seconds in enumerate(took[1:], start=1):
        assert seconds >= delay * 2 ** (failures_before - 1)
    assert took[4] >= delay * 2**3

    # The right password after five failures waits as long as a sixth wrong one would, then gets in.
    smg = await connect(connector)
    accepted, seconds = await smg.log_in()
    assert accepted and seconds >= delay * 2**4

    # A success starts over: the next login is answered without the 1.6 s a seventh attempt would take.
    after = await connect(connector)
    accepted, seconds = await after.log_in()
    assert accepted and seconds < delay * 2**4
    assert connector.stats().binds == 2
    await smg.close()
    await after.close()


async def test_logins_sent_behind_a_refused_one_are_never_read(listener: Listener) -> None:
    connector = await listener(ListenerLimits(login_failure_delay=0.05))
    smg = await connect(connector)
    (first, accepted), *behind = [LOGIN_AS_SMG.ask(LOGIN, password) for password in ("g1", "g2", SECRET)]
    smg.send(first + b"".join(frame for frame, _ in behind))

    assert not accepted(await smg.next_pdu())
    await smg.closed_within(2.0)
    assert connector.stats().binds == 0


async def test_a_bound_smg_that_stops_mid_pdu_is_dropped(listener: Listener) -> None:
    """SGIP has no heartbeat: without a limit on an unfinished PDU, such a connection would stay."""
    connector = await listener(response_timeout=0.3)
    smg = await connect(connector)
    assert (await smg.log_in())[0]

    frame, _ = LOGIN_AS_SMG.ask(LOGIN, SECRET)
    cut = time.monotonic()
    smg.send(frame[: len(frame) // 2])
    await smg.closed_within(2.0)

    assert time.monotonic() - cut >= 0.3
    await eventually(lambda: connector.stats().binds == 0)


async def test_the_links_options_override_the_platforms_limits(listener: Listener) -> None:
    extra = {**SGIP.extra, "listen_login_timeout": "0.3", "listen_max_connections_per_source": "1"}
    connector = await listener(
        ListenerLimits(login_timeout=30.0, max_connections_per_source=100), extra=extra
    )
    opened = time.monotonic()
    first, second = await connect(connector), await connect(connector)

    assert await second.closed_within(2.0) < PROMPTLY  # one connection per address
    await first.closed_within(1.5)  # and one that does not log in goes at 0.3 s, not 30
    assert time.monotonic() - opened >= 0.3


@pytest.mark.parametrize(
    "option", ["listen_login_timeout", "listen_max_connections_per_source", "listen_login_failure_delay"]
)
@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_listener_limit_that_is_not_a_number_0_or_more_is_refused(option: str, value: str) -> None:
    if option == "listen_max_connections_per_source" and value == "nan":
        value = "2.5"
    with pytest.raises(ValueError, match=f"SGIP option {option} must be a number, 0 or more"):
        create_connector(replace(SGIP, extra={**SGIP.extra, option: value}))
