"""Fixtures: the SMPP simulator on loopback and a running dispatcher pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.dispatch.dispatcher import Dispatcher
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.dispatch.policy import DispatchPolicy
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from smsplatform.store.database import Database
from tests.waiting import wait_for

SOURCE = "1069000"
FAST_POLICY = DispatchPolicy(
    poll_interval=0.05,
    housekeeping_interval=0.05,
    retry_base=0.01,
    stop_grace=0.3,
    lease_seconds=30,
)


def link(
    name: str, port: int, *, system_id: str = "esme", password: str = "pw", **changes: Any
) -> ConnectorConfig:
    settings: dict[str, Any] = {
        "source_number": SOURCE,
        "response_timeout": 2.0,
        "enquire_interval": 5.0,
        "bind_wait": 0.3,
        "connect_timeout": 1.0,
        "reconnect_initial": 0.05,
        "reconnect_max": 0.2,
        "stop_timeout": 0.5,
        **changes,
    }
    return ConnectorConfig(name, "smpp", "127.0.0.1", port, system_id, password, **settings)


async def eventually(
    check: Callable[[], bool], within: float = 5.0, what: str = "the expected state"
) -> None:
    """Wait until `check()` holds; fail the test, naming `what`, when it does not within `within` seconds."""
    await wait_for(check, within, what, every=0.02)


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("smpp", {"esme": "pw", "other": "pw2"}, LastDigitRule(delay=0.02))
    server.redeliver_delay = 0.05
    await server.start()
    yield server
    await server.close()


@dataclass
class Running:
    """A dispatcher running in the background; stopped by the fixture."""

    dispatcher: Dispatcher
    task: asyncio.Task[None]
    stopped: bool = field(default=False)

    async def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            await self.dispatcher.stop()
            await self.task


StartDispatcher = Callable[..., Any]


@pytest.fixture
async def start_dispatcher(db: Database) -> AsyncIterator[StartDispatcher]:
    """Start a dispatcher with the given built-in links and default route."""
    running: list[Running] = []

    async def start(
        builtin: Sequence[ConnectorConfig] = (),
        default_route: Sequence[str] = (),
        policy: DispatchPolicy = FAST_POLICY,
        **kwargs: Any,
    ) -> Running:
        manager = ConnectorManager(db, builtin=builtin, default_route=default_route)
        dispatcher = Dispatcher(db, manager, policy=policy, **kwargs)
        task = asyncio.get_running_loop().create_task(dispatcher.run())
        started = Running(dispatcher, task)
        running.append(started)
        for config in builtin:
            await eventually(lambda name=config.name: manager.get(name) is not None, 2.0)
        return started

    yield start
    for item in running:
        await item.stop()
