"""Fixtures: a simulator speaking the toy protocol and connectors pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.server import SmscServer
from tests.connectors.fake_protocol import FakeAdapter, FakeDialect

FAST = ConnectorConfig(
    name="fake-link",
    protocol="fake",
    host="127.0.0.1",
    port=0,
    system_id="esme",
    password="pw",
    enquire_interval=5.0,
    response_timeout=0.5,
    bind_wait=2.0,
    connect_timeout=1.0,
    reconnect_initial=0.02,
    reconnect_max=0.2,
    stop_timeout=1.0,
)


async def eventually(check: Callable[[], bool], within: float = 3.0) -> None:
    """Wait until `check()` holds; fail the test when it does not `within` seconds."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polls plain state, there is no event to wait on
            await asyncio.sleep(0.005)


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = SmscServer(FakeDialect(), {"esme": "pw"}, LastDigitRule(delay=0.01), redeliver_delay=0.05)
    await server.start()
    yield server
    await server.close()


ConnectorFactory = Callable[..., Awaitable[Connector]]


@pytest.fixture
async def connect(smsc: SmscServer[Any]) -> AsyncIterator[ConnectorFactory]:
    """Start a connector to the simulator; `bound=False` skips waiting for the bind."""
    started: list[Connector] = []

    async def factory(bound: bool = True, **changes: Any) -> Connector:
        config = replace(FAST, **{"port": smsc.port, **changes})
        connector = Connector(config, FakeAdapter(config))
        started.append(connector)
        await connector.start()
        if bound:
            assert await connector.wait_bound(2.0)
        return connector

    yield factory
    for connector in started:
        await connector.stop()
