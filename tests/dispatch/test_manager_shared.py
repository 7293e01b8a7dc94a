"""Connector managers standing for three nodes' dispatch processes, on one database and one Redis,
linking to one simulator: max-binds caps the sessions bound at the SMSC, a dead holder's bind moves to
a live process within the lease, and while Redis is away bound links stay bound and pace at their
share of the rate from the live processes the database shows."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from smsplatform.cluster.shared import SharedState
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.store.claims import CarrierFilter
from smsplatform.store.clock import now
from smsplatform.store.connectors import ConnectorRow, LinkHealth, add_connector, record_stats
from smsplatform.store.database import Database
from tests.cluster.counting_smsc import CountingSmsc, counting_smsc  # noqa: F401
from tests.dispatch.support import run
from tests.redis_server import OwnRedis, own_redis  # noqa: F401
from tests.waiting import wait_for

LEASE = 1.5
TPS = 300
FAST = {
    "response_timeout": "2",
    "bind_wait": "1",
    "connect_timeout": "1",
    "reconnect_initial": "0.05",
    "reconnect_max": "0.2",
    "stop_timeout": "0.5",
}


def capped(port: int, **options: str) -> ConnectorRow:
    return ConnectorRow(
        "capped",
        "smpp",
        "127.0.0.1",
        port,
        "esme",
        "pw",
        tps=TPS,
        source_number="1069000",
        carriers=("mobile",),
        options={**FAST, **options},
    )


Nodes = Callable[[str, int], Awaitable[list[ConnectorManager]]]


@pytest.fixture
async def nodes(db: Database) -> AsyncIterator[Nodes]:
    """`start(url, count)`: that many managers, each with its own connection to Redis at `url`."""
    prefix = f"smsplatform:test-{secrets.token_hex(4)}:"
    managers: list[ConnectorManager] = []
    states: list[SharedState] = []

    async def start(url: str, count: int) -> list[ConnectorManager]:
        for number in range(count):
            shared = SharedState(url, prefix=prefix, node=f"node-{number}")
            states.append(shared)
            manager = ConnectorManager(db, shared=shared, node=f"node-{number}", lease_seconds=LEASE)
            await manager.start()
            managers.append(manager)
        return managers

    yield start
    for manager in managers:
        with contextlib.suppress(Exception):
            await manager.stop()
    for shared in states:
        await shared.close()


def running(managers: list[ConnectorManager]) -> list[ConnectorManager]:
    return [m for m in managers if m.get("capped") is not None]


async def test_max_binds_caps_the_sessions_and_a_dead_holders_bind_moves_within_the_lease(
    db: Database,
    nodes: Nodes,
    counting_smsc: CountingSmsc,  # noqa: F811
    redis_url: str,
) -> None:
    run(db, add_connector, capped(counting_smsc.port, max_binds="2"))
    managers: list[ConnectorManager] = await nodes(redis_url, 3)

    await wait_for(lambda: counting_smsc.bound_sessions() == 2, 5, "two bound sessions at the SMSC")
    holders = running(managers)
    [waiting] = [m for m in managers if m not in holders]
    # The process without a bind leaves the connector's carrier to those with one.
    assert waiting.claimable() == CarrierFilter(excluded=frozenset({"mobile"}))
    assert all(m.claimable() is None for m in holders)
    # Renewals go on (two rounds each) and take nothing more: still two bound at the SMSC.
    for _ in range(2):
        for manager in managers:
            await manager.renew()
    assert counting_smsc.bound_sessions() == 2 and len(running(managers)) == 2

    # A holder dies: its renewals stop, its link is gone, its lease is not given back.
    dead = holders[0]
    assert dead._cluster_task is not None
    dead._cluster_task.cancel()
    link = dead.get("capped")
    assert link is not None
    loop = asyncio.get_running_loop()
    died = loop.time()
    await link.stop()
    await wait_for(
        lambda: waiting.get("capped") is not None and counting_smsc.bound_sessions() == 2,
        LEASE * 4,
        "the waiting process to bind in the dead one's place",
    )
    # Within the lease, plus one renewal round and the bind.
    moved = loop.time() - died
    assert moved <= LEASE + waiting.renew_every + 1.0
    assert waiting.claimable() is None


async def test_with_redis_away_bound_links_stay_bound_and_pace_at_their_share(
    db: Database,
    nodes: Nodes,
    counting_smsc: CountingSmsc,  # noqa: F811
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    run(db, add_connector, capped(counting_smsc.port, max_binds="2"))
    managers: list[ConnectorManager] = await nodes(own_redis.url, 3)
    await wait_for(lambda: counting_smsc.bound_sessions() == 2, 5, "two bound sessions at the SMSC")
    holders = running(managers)
    # What every dispatch process writes every 5 s: the database knows two run the connector.
    for manager in holders:
        health = [LinkHealth(s.name, s.state, 0, 0, 0, 0, 0, binds=s.binds) for s in manager.stats().values()]
        run(db, record_stats, manager.holder, health, now())

    own_redis.stop()
    for manager in managers:
        await manager.renew()  # cannot reach Redis: nothing changes
        await manager.follow_shares()
    assert counting_smsc.bound_sessions() == 2 and running(managers) == holders
    assert all(m._budgets["capped"].local_rate == pytest.approx(TPS / 2) for m in holders)

    own_redis.start()  # empty: the holders take their leases again, and the cap still holds
    for _ in range(2):
        for manager in managers:
            await manager.renew()
    assert counting_smsc.bound_sessions() <= 2
    await wait_for(lambda: counting_smsc.bound_sessions() == 2, 5, "two bound sessions once Redis is back")
    assert len(running(managers)) == 2
