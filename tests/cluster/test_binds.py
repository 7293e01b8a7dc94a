"""Bind leases in Redis: at most `max_binds` holders of a connector's binds at once, a dead holder's
lease taken by another once it ended, a lowered cap giving way. Each holder stands for a dispatch
process with its own connection to Redis."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from smsplatform.cluster.binds import BindLeases
from smsplatform.cluster.shared import SharedState, SharedUnavailable
from tests.redis_server import OwnRedis, own_redis  # noqa: F401
from tests.waiting import wait_for

LEASE = 1.0  # where a lease is waited out
HELD = 30.0  # where none may end during the test, however slow the machine


@pytest.fixture
async def holders(redis_url: str) -> AsyncIterator[Callable[..., list[BindLeases]]]:
    prefix = f"smsplatform:test-{secrets.token_hex(4)}:"
    states: list[SharedState] = []

    def make(count: int, lease: float = HELD) -> list[BindLeases]:
        made = []
        for number in range(count):
            shared = SharedState(redis_url, prefix=prefix, node=f"node-{number}")
            states.append(shared)
            made.append(BindLeases(shared, f"node-{number}:1", lease_seconds=lease))
        return made

    yield make
    for shared in states:
        await shared.close()


async def test_at_most_max_binds_processes_hold_a_lease(holders: Callable[..., list[BindLeases]]) -> None:
    first, second, third = holders(3)
    assert [await p.hold("cmpp-a", 2) for p in (first, second, third)] == [True, True, False]
    # Renewing keeps them; the third still waits; another connector's binds are counted apart.
    assert [await p.hold("cmpp-a", 2) for p in (first, second, third)] == [True, True, False]
    assert await third.hold("smpp-b", 2)
    assert sorted(await first.holders("cmpp-a")) == ["node-0:1", "node-1:1"]


async def test_a_dead_holders_lease_goes_to_a_live_process_once_it_ends(
    holders: Callable[..., list[BindLeases]],
) -> None:
    alive, dead, waiting = holders(3, LEASE)
    assert await alive.hold("cmpp-a", 2) and await dead.hold("cmpp-a", 2)
    assert not await waiting.hold("cmpp-a", 2)

    async def renewed_and_taken() -> bool:
        assert await alive.hold("cmpp-a", 2), "a holder that renews in time keeps its lease"
        return await waiting.hold("cmpp-a", 2)

    # `dead` stops renewing: within the lease (and one try), the waiting process holds its bind.
    moved: bool = await wait_for(
        renewed_and_taken, LEASE * 3, "the dead holder's bind to move", every=LEASE / 5
    )
    assert moved
    assert sorted(await alive.holders("cmpp-a")) == ["node-0:1", "node-2:1"]


async def test_released_at_once_and_a_lowered_cap_gives_way(
    holders: Callable[..., list[BindLeases]],
) -> None:
    first, second, third = holders(3)
    assert await first.hold("cmpp-a", 2) and await second.hold("cmpp-a", 2)
    await first.release("cmpp-a")
    assert await third.hold("cmpp-a", 2), "a released bind is free without waiting the lease out"
    # The operator lowers max-binds to 1: the first holder to renew gives way, the other keeps it.
    assert not await second.hold("cmpp-a", 1)
    assert await third.hold("cmpp-a", 1)
    assert await first.holders("cmpp-a") == ["node-2:1"]


async def test_leases_raise_while_redis_is_away(own_redis: OwnRedis) -> None:  # noqa: F811
    shared = SharedState(own_redis.url, prefix="smsplatform:test:", node="n")
    leases = BindLeases(shared, "n:1", lease_seconds=LEASE)
    try:
        assert await leases.hold("cmpp-a", 1)
        own_redis.stop()
        with pytest.raises(SharedUnavailable):
            await leases.hold("cmpp-a", 1)
    finally:
        await shared.close()
