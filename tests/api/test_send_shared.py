"""Scaled out: three API nodes on one PostgreSQL database and one Redis count the limits as one process
does (issue 12): frequency limits per number, per-IP limits, daily limits and request ids; and while
Redis is unreachable, `send` answers busy (243) and stores nothing while the rest keeps working."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.store.schema import messages
from tests.api.conftest import NOTIFY, VERIFY, Api, Tenant, envelope, error, filled, ok
from tests.api.shared_nodes import SharedNodes
from tests.redis_server import OwnRedis, own_redis  # noqa: F401
from tests.waiting import wait_for

A, B = "13800138001", "13800138002"

Nodes = Callable[..., Awaitable[list[Api]]]


@pytest.fixture
async def make_nodes(postgres_url: str) -> AsyncIterator[Nodes]:
    """Builds `count` API nodes on the test's PostgreSQL database and the Redis at `redis_url`."""
    nodes = SharedNodes()

    async def make(redis_url: str, count: int = 3, **settings: Any) -> list[Api]:
        return [nodes.open(postgres_url, redis_url, **settings, node_name=f"api{n}") for n in range(count)]

    yield make
    await nodes.close()


@pytest.fixture
async def nodes(make_nodes: Nodes, redis_url: str) -> list[Api]:
    return await make_nodes(redis_url)


async def _send(node: Api, tenant: Tenant, mobile: str, content: str, **extra: str) -> dict[str, Any]:
    params = {"appkey": tenant.appkey, "mobile": mobile, "content": content, **extra}
    return await node.call("send", params, method="POST")


async def _stored_messages(node: Api) -> list[str]:
    def fetch(conn: sa.Connection) -> list[str]:
        return list(conn.execute(sa.select(messages.c.mobile).order_by(messages.c.id)).scalars())

    return list(await node.read(fetch))


async def test_50_concurrent_verification_sends_over_three_nodes_let_exactly_4_through(
    nodes: list[Api],
) -> None:
    tenant = await nodes[0].customer()
    shop = await tenant.shop()
    answers = await asyncio.gather(
        *(_send(nodes[i % 3], tenant, A, filled(VERIFY, str(1000 + i))) for i in range(50))
    )
    accepted = [a for a in answers if a["status"] == "0"]
    assert len(accepted) == 4
    assert {a["status"] for a in answers} == {"0", "210"}
    assert await _stored_messages(nodes[1]) == [A] * 4
    assert (await tenant.get_account(shop.id)).usednum == 4
    # Counted where every node counts: in Redis, not in each node's store transaction.
    shared = nodes[0].platform.api.shared
    assert shared is not None
    assert await shared.client.zcard(shared.key("freq", shop.id, "verification", A)) == 4
    # The refused ones were not counted: the next minute's window holds those 4 alone, on any node.
    assert error(await _send(nodes[2], tenant, A, filled(VERIFY, "9999"))) == 210
    ok(await _send(nodes[2], tenant, B, filled(VERIFY, "9999")))


async def test_numbers_not_accepted_are_not_counted(nodes: list[Api]) -> None:
    tenant = await nodes[0].customer()
    await tenant.shop(totalnum=1)
    # Over the quota: refused whole, so its reservations are taken back.
    assert error(await _send(nodes[0], tenant, f"{A},{B}", filled(VERIFY))) == 209
    for i in range(4):
        await nodes[0].write(
            lambda conn: conn.execute(sa.text("UPDATE accounts SET totalnum = totalnum + 1"))
        )
        ok(await _send(nodes[i % 3], tenant, A, filled(VERIFY, str(i))))
    assert error(await _send(nodes[1], tenant, A, filled(VERIFY))) == 210
    assert await _stored_messages(nodes[0]) == [A] * 4


async def test_the_per_ip_limit_holds_across_nodes(make_nodes: Nodes, redis_url: str) -> None:
    nodes = await make_nodes(redis_url, ip_limit_per_minute=5)
    # Counted before the appkey is looked at: a flood with a bad key is cut too.
    answers = await asyncio.gather(
        *(nodes[i % 3].call("send", {"appkey": "nobody", "mobile": A, "content": "x"}) for i in range(30))
    )
    codes = [int(a["status"]) for a in answers]
    assert codes.count(101) == 5
    assert codes.count(106) == 25


async def test_a_daily_limit_of_10_answers_10_calls_over_three_nodes(nodes: list[Api]) -> None:
    tenant = await nodes[0].customer(daily_request_limit=10)
    answers = await asyncio.gather(
        *(nodes[i % 3].call("balance", {"appkey": tenant.appkey}) for i in range(30))
    )
    assert [a["status"] for a in answers].count("0") == 10
    assert {a["status"] for a in answers} == {"0", "104"}


async def test_the_same_request_id_on_two_nodes_at_once_is_accepted_once(nodes: list[Api]) -> None:
    tenant = await nodes[0].customer()
    shop = await tenant.shop()
    for attempt in range(5):
        params = {
            "appkey": tenant.appkey,
            "mobile": f"{A},{B}",
            "content": filled(NOTIFY, str(attempt)),
            "requestid": f"order-{attempt}",
        }
        first, second = await asyncio.gather(
            nodes[0].client.post("/sms/send", data=params), nodes[1].client.post("/sms/send", data=params)
        )
        assert first.content == second.content
        assert ok(envelope(first))["count"] == "2"
    assert len(await nodes[2].sends()) == 5
    assert len(await _stored_messages(nodes[2])) == 10
    assert (await tenant.get_account(shop.id)).usednum == 10
    # Another request with a key in use: 234, on any node.
    assert error(await _send(nodes[2], tenant, A, filled(NOTIFY, "x"), requestid="order-0")) == 234


async def test_while_redis_is_down_send_is_busy_and_stores_nothing_then_recovers(
    make_nodes: Nodes,
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    nodes = await make_nodes(own_redis.url, ip_limit_per_minute=1000)
    tenant = await nodes[0].customer(daily_request_limit=100)
    shop = await tenant.shop()
    ok(await _send(nodes[0], tenant, A, filled(NOTIFY)))
    own_redis.stop()
    for node in nodes:
        assert error(await _send(node, tenant, B, filled(VERIFY))) == 243
        assert error(await _send(node, tenant, B, filled(NOTIFY), requestid="r")) == 243
    assert await _stored_messages(nodes[0]) == [A]
    assert (await tenant.get_account(shop.id)).usednum == 1
    # The other endpoints keep working (their daily count falls back to the store's).
    balance = ok(await nodes[1].call("balance", {"appkey": tenant.appkey}))
    assert balance[0]["usednum"] == "1"
    ok(await nodes[2].call("accountlist", {"appkey": tenant.appkey}))

    own_redis.start()

    async def accepted() -> bool:
        answer = await _send(nodes[1], tenant, B, filled(NOTIFY), requestid="r")
        return bool(answer["status"] == "0")

    await wait_for(accepted, within=5.0, what="a send accepted once Redis is back")
    assert await _stored_messages(nodes[0]) == [A, B]
    # The busy answers counted nothing: a verification number still has its 4 a minute.
    for i in range(4):
        ok(await _send(nodes[i % 3], tenant, B, filled(VERIFY, str(i))))
    assert error(await _send(nodes[0], tenant, B, filled(VERIFY))) == 210
