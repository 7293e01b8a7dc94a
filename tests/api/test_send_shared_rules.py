"""The send rules of one node hold the same when scaled out: the frequency-limit and request-id tests
of one node, run again with the limits and keys in Redis (on PostgreSQL, as scaled out runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.store.database import Database
from tests.api.conftest import TEST_SETTINGS, Api, ApiFactory
from tests.api.fast_databases import fresh_database_url
from tests.api.test_send_limits import *  # noqa: F403
from tests.api.test_send_requestid import *  # noqa: F403
from tests.api.test_send_shared import patient


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def api_database_url(request: pytest.FixtureRequest) -> str:
    return fresh_database_url(request)


@pytest.fixture
async def make_api(api_database_url: str, redis_url: str) -> AsyncIterator[ApiFactory]:
    """`make_api` of one node, with `redis_url` set: each platform a node of one scaled-out platform."""
    opened: list[tuple[Api, httpx.AsyncClient]] = []

    async def make(**settings: Any) -> Api:
        platform = build_platform(
            Settings(**{**TEST_SETTINGS, **settings, "redis_url": redis_url}),
            db=Database.open(api_database_url, run_migrations=False),
        )
        assert platform.api.frequency is not None  # the limits are Redis's
        patient(platform)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.app), base_url="http://t")
        opened.append((Api(platform, client), client))
        return Api(platform, client)

    yield make
    for node, client in opened:
        await client.aclose()
        await node.platform.api.limits.close()
        if node.platform.api.shared is not None:
            await node.platform.api.shared.close()
        node.db.close()
