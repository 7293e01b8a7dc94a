"""A connector's --tps as one budget for every node's links, measured at the SMSC: three links, each
standing for a node, with their own Redis connection, pushing as fast as they are let."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from smsplatform.cluster.rates import SharedRate, batch_for
from smsplatform.cluster.shared import SharedState
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.registry import create_connector
from tests.cluster.counting_smsc import CountingSmsc, counting_smsc, push  # noqa: F401
from tests.redis_server import OwnRedis, own_redis  # noqa: F401

# serial: the links must reach most of the cap within seconds, which other tests running beside these would
# prevent.
pytestmark = pytest.mark.serial

TPS = 200
NODES = 3


def config(port: int) -> ConnectorConfig:
    return ConnectorConfig(
        "capped",
        "smpp",
        "127.0.0.1",
        port,
        "esme",
        "pw",
        window=64,
        tps=TPS,
        source_number="1069000",
        response_timeout=2.0,
        bind_wait=2.0,
        connect_timeout=1.0,
        reconnect_initial=0.05,
        reconnect_max=0.2,
        stop_timeout=0.5,
    )


@dataclass
class Started:
    prefix: str  # the platform's keys in Redis
    budgets: list[SharedRate] = field(default_factory=list)
    submits: list[Callable[..., Awaitable[object]]] = field(default_factory=list)


Nodes = Callable[[str], Awaitable[Started]]


@pytest.fixture
async def nodes(counting_smsc: CountingSmsc) -> AsyncIterator[Nodes]:  # noqa: F811
    """`NODES` links of one connector, each with its own connection to Redis at the URL given."""
    links = []
    states: list[SharedState] = []
    prefix = f"smsplatform:test-{secrets.token_hex(4)}:"

    async def start(url: str) -> Started:
        started = Started(prefix)
        for number in range(NODES):
            shared = SharedState(url, prefix=prefix, node=f"node-{number}")
            states.append(shared)
            budget = SharedRate(shared, "capped", TPS, processes=NODES)
            link = create_connector(config(counting_smsc.port))
            link.share_rate(budget)
            await link.start()
            assert await link.wait_bound(5), "the link did not bind"
            links.append(link)
            started.budgets.append(budget)
            started.submits.append(link.submit)
        return started

    yield start
    for link in links:
        await link.stop()
    for shared in states:
        await shared.close()


async def test_three_nodes_links_share_one_rate_cap(
    nodes: Nodes,
    counting_smsc: CountingSmsc,  # noqa: F811
    redis_url: str,
) -> None:
    submits = (await nodes(redis_url)).submits
    loop = asyncio.get_running_loop()
    start = loop.time()
    end = start + 3.0
    accepted = await asyncio.gather(*(push(submit, end) for submit in submits))

    busiest = counting_smsc.busiest_second(start, end + 1.0)
    total = counting_smsc.between(start, end + 1.0)
    # The carrier's cap over any second, within one batch; and the links use most of it together.
    assert busiest <= TPS + batch_for(TPS), f"{busiest} submits in one second against a cap of {TPS}"
    assert total >= 0.8 * TPS * 3, f"only {total} submits in 3 s at a cap of {TPS}/s"
    assert all(n > 0.15 * total for n in accepted), f"a link was starved: {accepted}"


async def test_without_redis_each_link_paces_at_its_share_and_the_bucket_returns(
    nodes: Nodes,
    counting_smsc: CountingSmsc,  # noqa: F811
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    started = await nodes(own_redis.url)
    budgets, submits = started.budgets, started.submits
    loop = asyncio.get_running_loop()
    own_redis.stop()

    start = loop.time()
    end = start + 2.0
    accepted = await asyncio.gather(*(push(submit, end) for submit in submits))
    busiest = counting_smsc.busiest_second(start, end + 1.0)
    total = counting_smsc.between(start, end + 1.0)
    # Each link alone at TPS / 3: together the cap still holds, and delivery goes on.
    assert all(budget.local_rate == pytest.approx(TPS / NODES) for budget in budgets)
    assert busiest <= TPS + batch_for(TPS), f"{busiest} submits in one second with Redis away, cap {TPS}"
    assert total >= 0.8 * TPS * 2, f"only {total} submits in 2 s with Redis away"
    assert all(n > 0 for n in accepted)

    own_redis.start()  # empty: only the links' asking can write the bucket again
    again = loop.time()
    await asyncio.gather(*(push(submit, again + 2.5) for submit in submits))
    probe = SharedState(own_redis.url, prefix=started.prefix, node="probe")
    try:
        tokens = await probe.call(lambda client: client.hget(probe.key("rate", "capped"), "tokens"))
    finally:
        await probe.close()
    assert tokens is not None, "the links did not go back to the shared bucket"
    # Once back on it (each link asks again within a second of pacing alone), the cap holds as before.
    busiest = counting_smsc.busiest_second(again + 1.2, again + 3.5)
    assert busiest <= TPS + batch_for(TPS), f"{busiest} submits in one second after Redis came back"
