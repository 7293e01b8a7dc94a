"""Every simulator's listener: login timeout, connections per source address, failed-login delay, and
a PDU left unfinished after the bind, over real sockets with the client's own clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from smsplatform.protocols.admission import ListenerLimits
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator, run_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import eventually
from tests.connectors.listener_probe import LOGIN, PROMPTLY, SECRET, Probe, esme_login

Simulator = Callable[[ListenerLimits], Awaitable[SmscServer[Any]]]


@pytest.fixture(params=["smpp", "cmpp", "sgip", "smgp"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def simulator(protocol: str) -> AsyncIterator[Simulator]:
    started: list[SmscServer[Any]] = []

    async def start(limits: ListenerLimits) -> SmscServer[Any]:
        server = create_simulator(protocol, {LOGIN: SECRET}, LastDigitRule(delay=0.0), limits=limits)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.close()


@pytest.mark.parametrize("sends", ["nothing", "half a login"])
async def test_a_connection_that_does_not_log_in_is_closed_at_the_login_timeout(
    protocol: str, simulator: Simulator, sends: str
) -> None:
    smsc = await simulator(ListenerLimits(login_timeout=0.3))
    login = esme_login(protocol)
    opened = time.monotonic()
    probe = await Probe.connect(smsc.port, login)
    if sends == "half a login":
        frame, _ = login.ask(LOGIN, SECRET)
        probe.send(frame[: len(frame) // 2])

    await probe.closed_within(1.5)

    assert time.monotonic() - opened >= 0.3
    assert smsc.counters.login_timeouts == 1 and smsc.counters.binds == 0


async def test_a_login_in_time_keeps_the_connection(protocol: str, simulator: Simulator) -> None:
    smsc = await simulator(ListenerLimits(login_timeout=0.3))
    login = esme_login(protocol)
    bound = await Probe.connect(smsc.port, login)
    idle = await Probe.connect(smsc.port, login)
    assert (await bound.log_in())[0]

    await idle.closed_within(1.5)  # the login timeout has passed
    assert not (await bound.log_in())[0]  # and the bound one is still served (one login each)
    assert smsc.counters.login_timeouts == 1
    await bound.close()


async def test_connections_over_the_cap_are_closed_before_anything_is_read(
    protocol: str, simulator: Simulator
) -> None:
    smsc = await simulator(ListenerLimits(max_connections_per_source=3))
    login = esme_login(protocol)
    held = [await Probe.connect(smsc.port, login) for _ in range(3)]

    over = await Probe.connect(smsc.port, login)
    over.send(login.ask(LOGIN, SECRET)[0])
    assert await over.closed_within(2.0) < PROMPTLY

    for probe in held:  # the three stay open and are served
        assert (await probe.log_in())[0]
    assert (smsc.counters.binds, smsc.counters.connections_refused) == (3, 1)

    await held[0].close()  # a connection that ends frees its place
    await eventually(lambda: smsc.admission.open_connections("127.0.0.1") == 2)
    again = await Probe.connect(smsc.port, login)
    assert (await again.log_in())[0]
    for probe in [*held[1:], again]:
        await probe.close()


async def test_failed_logins_slow_down_every_answer_until_one_succeeds(
    protocol: str, simulator: Simulator
) -> None:
    delay = 0.05
    smsc = await simulator(ListenerLimits(login_failure_delay=delay, login_failure_delay_max=10.0))
    login = esme_login(protocol)

    took = []
    for _ in range(5):
        probe = await Probe.connect(smsc.port, login)
        accepted, seconds = await probe.log_in("guess")
        assert not accepted
        took.append(seconds)
        await probe.closed_within(2.0)  # a refused login closes the connection

    # The first failure is answered at once; each one after it waits twice as long as the one before.
    for failures_before, seconds in enumerate(took[1:], start=1):
        assert seconds >= delay * 2 ** (failures_before - 1)
    assert took[4] >= delay * 2**3

    # The right password after five failures waits as long as a sixth wrong one would, then gets in.
    probe = await Probe.connect(smsc.port, login)
    accepted, seconds = await probe.log_in()
    assert accepted and seconds >= delay * 2**4

    # A success starts over: the next login is answered without the 1.6 s a seventh attempt would take.
    after = await Probe.connect(smsc.port, login)
    accepted, seconds = await after.log_in()
    assert accepted and seconds < delay * 2**4
    assert (smsc.counters.bind_failures, smsc.counters.binds) == (5, 2)
    await probe.close()
    await after.close()


async def test_logins_sent_behind_a_refused_one_are_never_read(protocol: str, simulator: Simulator) -> None:
    smsc = await simulator(ListenerLimits(login_failure_delay=0.05))
    login = esme_login(protocol)
    probe = await Probe.connect(smsc.port, login)
    (first, accepted), *behind = [login.ask(LOGIN, password) for password in ("guess1", "guess2", SECRET)]
    probe.send(first + b"".join(frame for frame, _ in behind))

    assert not accepted(await probe.next_pdu())
    await probe.closed_within(2.0)
    assert (smsc.counters.bind_failures, smsc.counters.binds) == (1, 0)


async def test_a_bound_peer_that_stops_mid_pdu_is_dropped(protocol: str, simulator: Simulator) -> None:
    smsc = await simulator(ListenerLimits(body_timeout=0.3))
    login = esme_login(protocol)
    probe = await Probe.connect(smsc.port, login)
    assert (await probe.log_in())[0]

    frame, _ = login.ask(LOGIN, SECRET)
    cut = time.monotonic()
    probe.send(frame[: len(frame) // 2])
    await probe.closed_within(2.0)

    assert time.monotonic() - cut >= 0.3
    assert smsc.counters.stalled_pdus == 1


async def test_the_standalone_simulator_takes_its_limits() -> None:
    ready: asyncio.Future[SmscServer[Any]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_simulator(
            "smpp",
            accounts={LOGIN: SECRET},
            limits=ListenerLimits(login_timeout=0.3, max_connections_per_source=1),
            started=lambda server, _: ready.set_result(server),
            announce=None,
        )
    )
    try:
        server = await asyncio.wait_for(ready, 5.0)
        login = esme_login("smpp")
        opened = time.monotonic()
        first = await Probe.connect(server.port, login)
        second = await Probe.connect(server.port, login)
        assert await second.closed_within(2.0) < PROMPTLY  # one connection per address
        await first.closed_within(1.5)  # and one that does not log in goes at the login timeout
        assert time.monotonic() - opened >= 0.3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
