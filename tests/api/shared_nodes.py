"""API nodes of one scaled-out platform (PostgreSQL and Redis) in the test's process, each an app of its
own reached through an ASGI client, opened and closed together."""

from __future__ import annotations

from typing import Any

import httpx
import redis.asyncio as aioredis

from smsplatform.app import Platform, build_platform
from smsplatform.config import Settings
from smsplatform.store.database import Database
from tests.api.conftest import TEST_SETTINGS, Api

# The nodes share this test's one event loop: on a loaded machine a reply can wait on the loop longer
# than a node gives Redis, which the node would take as Redis being down.
PATIENT_SECONDS = 5.0


def patient(platform: Platform) -> None:
    """Gives the node's Redis connection `PATIENT_SECONDS` before a reply counts as lost."""
    shared = platform.api.shared
    assert shared is not None
    shared.client = aioredis.Redis.from_url(
        shared.url, socket_timeout=PATIENT_SECONDS, socket_connect_timeout=PATIENT_SECONDS
    )


class SharedNodes:
    def __init__(self) -> None:
        self._opened: list[tuple[Api, httpx.AsyncClient]] = []

    def open(self, database_url: str, redis_url: str, **settings: Any) -> Api:
        platform = build_platform(
            Settings(**{**TEST_SETTINGS, **settings, "redis_url": redis_url}),
            db=Database.open(database_url, run_migrations=False),
        )
        patient(platform)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.app), base_url="http://t")
        node = Api(platform, client)
        self._opened.append((node, client))
        return node

    async def close(self) -> None:
        for node, client in self._opened:
            await client.aclose()
            await node.platform.api.limits.close()
            if node.platform.api.shared is not None:
                await node.platform.api.shared.close()
            node.db.close()
