"""/healthz and /readyz: what a node reaches (its database, its Redis) and whether it should get
traffic, on the API's listener, the console's and the health port of a node without the API; and that
probes, however many, cost at most one check of the database a second."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from smsplatform.admin.app import create_admin_app
from smsplatform.admin.context import AdminContext
from smsplatform.api.app import create_app
from smsplatform.api.context import ApiContext
from smsplatform.cluster.health import NodeHealth, health_app
from smsplatform.cluster.shared import SharedState
from smsplatform.config import Settings
from smsplatform.store.catalog import Catalog
from smsplatform.store.database import Database
from tests.redis_server import OwnRedis, own_redis  # noqa: F401
from tests.waiting import wait_for


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{tmp_path / 't.db'}")
    yield database
    database.close()


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node")


def statements(db: Database, text: str) -> list[str]:
    """Every statement containing `text` that reaches the database from now on."""
    seen: list[str] = []

    @sa.event.listens_for(db.read_engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if text in statement:
            seen.append(statement)

    return seen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_node_without_the_api_is_ready_once_started_and_until_it_stops(db: Database) -> None:
    health = NodeHealth(db, None)
    async with client(health_app(health)) as c:
        healthz, readyz = await c.get("/healthz"), await c.get("/readyz")
        assert healthz.status_code == 200
        assert healthz.json() == {"database": "ok", "redis": "off", "started": False, "stopping": False}
        assert readyz.status_code == 503  # not started yet: no traffic
        health.started = True
        assert (await c.get("/readyz")).status_code == 200
        health.stopping = True
        readyz = await c.get("/readyz")
        assert readyz.status_code == 503 and readyz.json()["stopping"] is True
        assert (await c.get("/healthz")).status_code == 200  # stopping is not unhealthy


async def test_a_database_that_cannot_be_reached_makes_the_node_unhealthy(tmp_path: Path) -> None:
    unreachable = Database.open("postgresql://postgres@127.0.0.1:1/none", run_migrations=False)
    try:
        health = NodeHealth(unreachable, None)
        health.started = True
        async with client(health_app(health)) as c:
            for path in ("/healthz", "/readyz"):
                answer = await c.get(path)
                assert answer.status_code == 503
                assert answer.json()["database"] == "unreachable"
    finally:
        unreachable.close()


async def test_many_probes_cost_one_database_check_a_second(db: Database) -> None:
    clock = Clock()
    health = NodeHealth(db, None, clock=clock)
    checks = statements(db, "SELECT 1")
    app = create_app(ApiContext(settings=Settings(), db=db, catalog=Catalog(db, 0.5), health=health))
    async with client(app) as c:
        answers = await asyncio.gather(*(c.get("/healthz") for _ in range(200)))
        assert {a.status_code for a in answers} == {200}
        assert len(checks) == 1  # 200 probes at once: one check, the others wait for it
        clock.now += 0.9
        await c.get("/healthz")
        assert len(checks) == 1
        clock.now += 0.2
        await c.get("/healthz")
        assert len(checks) == 2


async def test_the_api_listener_answers_the_probes_in_the_envelope(db: Database) -> None:
    health = NodeHealth(db, None)
    app = create_app(ApiContext(settings=Settings(), db=db, catalog=Catalog(db, 0.5), health=health))
    async with client(app) as c:
        healthz = await c.get("/healthz")
        assert healthz.status_code == 200
        assert healthz.json() == {
            "status": "0",
            "msg": "ok",
            "result": {"ok": "1", "database": "ok", "redis": "off", "started": "0", "stopping": "0"},
        }
        readyz = await c.get("/readyz")
        assert readyz.status_code == 503
        assert readyz.json()["status"] == "243" and readyz.json()["result"]["ok"] == "0"
        health.started = True
        assert (await c.get("/readyz")).json()["status"] == "0"


async def test_the_console_listener_answers_the_probes_without_a_login(db: Database, tmp_path: Path) -> None:
    health = NodeHealth(db, None)
    health.started = True
    ctx = AdminContext(settings=Settings(data_dir=tmp_path), db=db, secret_key="k" * 32)
    async with client(create_admin_app(ctx, health)) as c:
        assert (await c.get("/healthz")).json()["database"] == "ok"
        assert (await c.get("/readyz")).status_code == 200


@pytest.fixture
async def shared(own_redis: OwnRedis) -> AsyncIterator[SharedState]:  # noqa: F811
    state = SharedState(own_redis.url, prefix="smsplatform:test:", node="n1", retry_after=0.2)
    yield state
    await state.close()


async def test_a_redis_that_goes_away_makes_the_node_unhealthy_until_it_returns(
    db: Database,
    shared: SharedState,
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    health = NodeHealth(db, shared, max_age=0.1)
    health.started = True
    async with client(health_app(health)) as c:

        async def unhealthy() -> bool:
            response = await c.get("/readyz")
            return response.status_code == 503 and response.json()["redis"] == "unreachable"

        async def healthy() -> bool:
            response = await c.get("/readyz")
            return response.status_code == 200 and response.json()["redis"] == "ok"

        assert await healthy()
        own_redis.stop()
        await wait_for(unhealthy, 10, "the node unhealthy without Redis")
        assert (await c.get("/healthz")).status_code == 503
        own_redis.start()
        await wait_for(healthy, 10, "the node healthy again with Redis back")
