"""The send rules of one node hold the same when scaled out: the frequency-limit and request-id tests
of one node, run again with the limits and keys in Redis (on PostgreSQL, as scaled out runs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.api.conftest import Api, ApiFactory
from tests.api.fast_databases import fresh_database_url
from tests.api.shared_nodes import SharedNodes
from tests.api.test_send_limits import *  # noqa: F403
from tests.api.test_send_requestid import *  # noqa: F403


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres)])
def api_database_url(request: pytest.FixtureRequest) -> str:
    return fresh_database_url(request)


@pytest.fixture
async def make_api(api_database_url: str, redis_url: str) -> AsyncIterator[ApiFactory]:
    """`make_api` of one node, with `redis_url` set: each platform a node of one scaled-out platform."""
    nodes = SharedNodes()

    async def make(**settings: Any) -> Api:
        node = nodes.open(api_database_url, redis_url, **settings)
        assert node.platform.api.frequency is not None  # the limits are Redis's
        return node

    yield make
    await nodes.close()
