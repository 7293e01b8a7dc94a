"""The connector manager follows the operator's configuration, with stand-in links."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import ConnectorStats
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.store.connectors import ConnectorRow, add_connector, remove_connector, set_route
from smsplatform.store.database import Database
from tests.dispatch.conftest import eventually
from tests.dispatch.support import run


class StandIn:
    """Records its lifecycle; `up` decides what stats() reports."""

    def __init__(self, config: ConnectorConfig) -> None:
        if config.protocol == "carrier-pigeon":
            raise ValueError("no connector for protocol 'carrier-pigeon'")
        self.name = config.name
        self.config = config
        self.started = self.stopped = False
        self.up = True
        self.on_report: Any = None
        self.on_inbound: Any = None

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    @property
    def state(self) -> str:
        return "bound" if self.up else "backoff"

    def stats(self) -> ConnectorStats:
        return ConnectorStats(self.name, self.state, 0, 7, 1, 0, 0)


def stand_in(config: ConnectorConfig) -> Connector:
    return cast(Connector, StandIn(config))


def row(name: str, port: int = 2775, protocol: str = "smpp", **options: str) -> ConnectorRow:
    return ConnectorRow(name, protocol, "10.0.0.1", port, "esme", "pw", source_number="1065", options=options)


def builtin(name: str) -> ConnectorConfig:
    return ConnectorConfig(name, "smpp", "127.0.0.1", 2775, "sim", "sim", source_number="1069000")


def link(manager: ConnectorManager, name: str) -> StandIn:
    found = manager.get(name)
    assert found is not None
    return cast(StandIn, found)


async def test_builds_configured_and_builtin_links_and_follows_changes(db: Database) -> None:
    run(db, add_connector, row("cmpp-a"))
    manager = ConnectorManager(
        db, builtin=[builtin("sim-smpp")], default_route=["sim-smpp"], factory=stand_in
    )
    await manager.start()
    assert manager.names() == ["cmpp-a", "sim-smpp"]
    first = link(manager, "cmpp-a")
    assert first.started and first.config.source_number == "1065"
    assert manager.source_number("sim-smpp") == "1069000"
    assert not await manager.refresh()  # nothing changed

    run(db, remove_connector, "cmpp-a")
    run(db, add_connector, row("cmpp-a", port=7890, response_timeout="60"))
    run(db, add_connector, row("pigeon", protocol="carrier-pigeon"))  # cannot be built: left out
    assert await manager.refresh()
    second = link(manager, "cmpp-a")
    assert second is not first
    await eventually(lambda: first.stopped)  # stopped in the background
    assert (second.config.port, second.config.response_timeout) == (7890, 60.0)
    assert manager.names() == ["cmpp-a", "sim-smpp"]
    assert manager.stats()["cmpp-a"].sent == 7

    run(db, remove_connector, "cmpp-a")
    await manager.refresh()
    assert manager.get("cmpp-a") is None
    sim = link(manager, "sim-smpp")
    await manager.stop()  # waits for every link, those stopping in the background too
    assert second.stopped and sim.stopped
    assert manager.names() == []


async def test_an_operator_row_replaces_a_builtin_of_the_same_name(db: Database) -> None:
    run(db, add_connector, row("sim-smpp"))
    manager = ConnectorManager(db, builtin=[builtin("sim-smpp")], factory=stand_in)
    await manager.start()
    assert link(manager, "sim-smpp").config.host == "10.0.0.1"
    await manager.stop()


async def test_routes_put_healthy_links_first(db: Database) -> None:
    run(db, add_connector, row("a"))
    run(db, add_connector, row("b"))
    run(db, set_route, "mobile", ["a", "b"])
    manager = ConnectorManager(
        db, builtin=[builtin("sim-smpp")], default_route=["sim-smpp"], factory=stand_in
    )
    await manager.start()
    assert [c.name for c in manager.route("mobile")] == ["a", "b"]
    link(manager, "a").up = False
    assert [c.name for c in manager.route("mobile")] == ["b", "a"]
    assert [c.name for c in manager.route("unicom")] == ["sim-smpp"]

    run(db, set_route, "unicom", ["b"])
    await manager.refresh()
    assert [c.name for c in manager.route("unicom")] == ["b"]
    await manager.stop()


async def test_receipts_and_replies_reach_the_handlers_set_later(db: Database) -> None:
    manager = ConnectorManager(db, builtin=[builtin("sim-smpp")], factory=stand_in)
    await manager.start()
    seen: list[object] = []
    manager.on_report = seen.append
    manager.on_inbound = seen.append
    standin = link(manager, "sim-smpp")
    standin.on_report("report")
    standin.on_inbound("reply")
    assert seen == ["report", "reply"]
    await manager.stop()


async def test_each_of_several_processes_takes_a_share_of_a_link(db: Database) -> None:
    run(db, add_connector, replace(row("capped"), tps=90))
    run(db, add_connector, row("free"))
    manager = ConnectorManager(db, factory=stand_in, processes=3)
    await manager.start()
    capped, free = link(manager, "capped").config, link(manager, "free").config
    assert capped.tps == 30.0  # the carrier's cap is for the account: 3 × 30
    assert free.tps is None
    assert capped.shared_listener and free.shared_listener  # SGIP's listener port, for one
    assert not await manager.refresh()  # the share is not a configuration change
    await manager.stop()

    alone = ConnectorManager(db, factory=stand_in)
    await alone.start()
    assert link(alone, "capped").config.tps == 90.0
    assert not link(alone, "capped").config.shared_listener
    await alone.stop()
