"""The live connectors, kept in step with the operator's configuration.

Connectors come from two places: the `connectors` table (what `connector add` wrote) and built-in
ones the composition root passes (the embedded simulator's link). Every configuration change bumps
the store's config version; `refresh` compares it and reconciles: new connectors start, removed ones
stop, changed ones are replaced, and the route table is rebuilt, all without a restart.

A link the operator stopped (`store.connectors.set_stopped`, as Kannel's stop-smsc) stays configured
but is taken out of its routes and unbinds gracefully: in-flight submits get their answers, and its
carriers' messages go to the next connector of their route, as when a link is down. Its health still
shows, as "stopping" and then "stopped"; starting it again builds it afresh.

When several dispatch processes run (`processes` > 1), each one links to every connector on its own:
each takes an equal share of the connector's submits-per-second cap, and they share its listening
port, if it has one.

A connector with a listener of its own (SGIP's, which the SMSC connects back to) limits it with
`listener_limits` (login timeout, connections per source address, failed-login delay), unless its
options set its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

import sqlalchemy as sa

from smsplatform.cluster.shared import SharedState
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import ConnectorStats, DeliveryReport, InboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.dispatch.connector_config import connector_config
from smsplatform.dispatch.routes import healthy_first
from smsplatform.domain.routes import RouteTable
from smsplatform.protocols.admission import ListenerLimits
from smsplatform.store.connectors import ConnectorRow, list_connectors, list_routes, stopped_connectors
from smsplatform.store.database import Database
from smsplatform.store.settings import config_version

log = logging.getLogger(__name__)

BOUND = "bound"

ConnectorFactory = Callable[[ConnectorConfig], Connector]
ReportHandler = Callable[[DeliveryReport], Awaitable[None] | None]
InboundHandler = Callable[[InboundSms], Awaitable[None] | None]


def _load(
    conn: sa.Connection,
) -> tuple[int, list[ConnectorRow], dict[str, list[str]], frozenset[str]]:
    """The configuration as of one snapshot."""
    return config_version(conn), list_connectors(conn), list_routes(conn), stopped_connectors(conn)


class ConnectorManager:
    """Owns the running connectors and the route table built from the same configuration."""

    def __init__(
        self,
        db: Database,
        *,
        builtin: Sequence[ConnectorConfig] = (),
        builtin_carriers: Mapping[str, Sequence[str]] | None = None,
        default_route: Sequence[str] = (),
        factory: ConnectorFactory = create_connector,
        processes: int = 1,
        listener_limits: ListenerLimits | None = None,
        shared: SharedState | None = None,
        node: str = "",
    ) -> None:
        self._db = db
        # Scaled out: the platform's Redis, where a connector's rate and binds are shared by the nodes.
        self._shared = shared
        self._node = node
        self._listener_limits = listener_limits or ListenerLimits()
        self._builtin = {config.name: config for config in builtin}
        # carrier lists of the built-ins, as an operator's --carriers would be: their default routes
        self._builtin_carriers = dict(builtin_carriers or {})
        self._default_route = tuple(default_route)
        self._factory = factory
        self._processes = max(1, processes)
        self._connectors: dict[str, Connector] = {}
        self._configs: dict[str, ConnectorConfig] = {}
        self._wanted: dict[str, ConnectorConfig] = dict(self._builtin)
        # Links the operator stopped: out of every route, kept only to show their health.
        self._halted: dict[str, Connector] = {}
        self._routes = RouteTable(default=self._default_route)
        self._version: int | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        # Set by the dispatcher; every connector forwards its receipts and replies here.
        self.on_report: ReportHandler | None = None
        self.on_inbound: InboundHandler | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Build and start every configured connector (they bind in the background)."""
        await self.reconcile()

    async def refresh(self) -> bool:
        """Reconcile when the configuration changed since the last look; True when it did."""
        version = await self._db.read(config_version)
        if version == self._version:
            return False
        await self.reconcile()
        return True

    async def reconcile(self) -> None:
        async with self._lock:
            version, rows, routes, stopped = await self._db.read(_load)
            wanted = dict(self._builtin)
            carriers: dict[str, Sequence[str]] = {}
            for row in rows:  # the operator's row wins over a built-in of the same name
                try:
                    wanted[row.name] = connector_config(row)
                except ValueError as error:
                    log.error("%s", error)
                    continue
                carriers[row.name] = row.carriers
            for name in list(self._connectors):
                if name in stopped and wanted.get(name) is not None:
                    self._retire(name, reason="stopped by the operator", keep=True)
                elif wanted.get(name) != self._configs[name]:
                    self._retire(name)
            for name in list(self._halted):
                if name not in stopped or name not in wanted:
                    del self._halted[name]
            for name, config in wanted.items():
                if name in stopped:
                    if name not in self._halted:
                        self._halt(config)
                elif name not in self._connectors:
                    await self._launch(config)
            self._wanted = wanted
            self._routes = RouteTable.build(routes, carriers, self._default_route, self._builtin_carriers)
            self._version = version

    async def stop(self) -> None:
        """Stop every connector (each lets in-flight submits finish within its stop timeout)."""
        async with self._lock:
            for name in list(self._connectors):
                self._retire(name)
            self._halted.clear()
            self._version = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    def _build(self, config: ConnectorConfig) -> Connector | None:
        try:
            connector = self._factory(share_of(config, self._processes))
        except ValueError as error:  # e.g. a protocol nobody implements
            log.error("connector %s: %s", config.name, error)
            return None
        connector.listener_limits = self._listener_limits
        return connector

    async def _launch(self, config: ConnectorConfig) -> None:
        connector = self._build(config)
        if connector is None:
            return
        connector.on_report = self._forward_report
        connector.on_inbound = self._forward_inbound
        self._connectors[config.name] = connector
        self._configs[config.name] = config
        await connector.start()
        log.info("connector %s (%s %s:%d) started", config.name, config.protocol, config.host, config.port)

    def _retire(self, name: str, *, reason: str = "", keep: bool = False) -> None:
        """Take the connector out of service now; let it unbind in the background.

        With `keep`, its health stays on show (as stopping, then stopped) until it is started again.
        """
        connector = self._connectors.pop(name)
        self._configs.pop(name, None)
        if keep:
            self._halted[name] = connector
        task = asyncio.get_running_loop().create_task(connector.stop(), name=f"stop:{name}")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        log.info("connector %s stopping%s", name, f" ({reason})" if reason else "")

    def _halt(self, config: ConnectorConfig) -> None:
        """A link that is stopped when this process first sees it: built, never started."""
        connector = self._build(config)
        if connector is not None:
            self._halted[config.name] = connector
            log.info("connector %s stays stopped (stopped by the operator)", config.name)

    def _forward_report(self, report: DeliveryReport) -> Awaitable[None] | None:
        return None if self.on_report is None else self.on_report(report)

    def _forward_inbound(self, sms: InboundSms) -> Awaitable[None] | None:
        return None if self.on_inbound is None else self.on_inbound(sms)

    # -- lookups --------------------------------------------------------------------------------

    @property
    def version(self) -> int | None:
        """The configuration version the running connectors were built from."""
        return self._version

    @property
    def routes(self) -> RouteTable:
        return self._routes

    def names(self) -> list[str]:
        return sorted(self._connectors)

    def get(self, name: str) -> Connector | None:
        return self._connectors.get(name)

    def source_number(self, name: str) -> str:
        config = self._configs.get(name) or self._wanted.get(name)
        return "" if config is None else config.source_number

    def route(self, carrier: str) -> list[Connector]:
        """The running connectors for `carrier`, in the order to try them (healthy ones first)."""
        links = [c for c in map(self._connectors.get, self._routes.names(carrier)) if c is not None]
        return healthy_first(links, is_up)

    def stats(self) -> dict[str, ConnectorStats]:
        """Each connector's counters (state, in flight, sent, errors...), by name: the running ones and
        those the operator stopped."""
        links = {**self._halted, **self._connectors}
        return {name: links[name].stats() for name in sorted(links)}


def share_of(config: ConnectorConfig, processes: int) -> ConnectorConfig:
    """What one of `processes` dispatch processes runs of a connector: the carrier's rate cap is for
    the account, not for each connection."""
    if processes <= 1:
        return config
    tps = config.tps / processes if config.tps else config.tps
    return replace(config, tps=tps, shared_listener=True)


def is_up(connector: Connector) -> bool:
    return connector.state == BOUND
