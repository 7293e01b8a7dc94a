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

Scaled out (`shared`, the platform's Redis), a connector's cap is one budget for every node: each link
draws batches of tokens from a bucket in Redis (cluster/rates.py), and while Redis is away paces at an
equal share among the dispatch processes the database shows running the connector (`live_processes`).
A connector with `max_binds` binds only in the processes holding one of its leases (cluster/binds.py),
renewed every `renew_every` seconds; the others do not run it, and tell the dispatcher not to claim
the messages only it can carry (`claimable`). While Redis is away, links already bound stay bound and
no new ones bind; everything is taken up again when Redis answers.

A connector with a listener of its own (SGIP's, which the SMSC connects back to) limits it with
`listener_limits` (login timeout, connections per source address, failed-login delay), unless its
options set its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

import sqlalchemy as sa

from smsplatform.cluster.binds import LEASE_SECONDS, BindLeases
from smsplatform.cluster.rates import SharedRate
from smsplatform.cluster.shared import SharedState, SharedUnavailable
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import ConnectorStats, DeliveryReport, InboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.dispatch.connector_config import connector_config
from smsplatform.dispatch.routes import healthy_first
from smsplatform.domain.routes import RouteTable
from smsplatform.protocols.admission import ListenerLimits
from smsplatform.store.claims import CarrierFilter
from smsplatform.store.connectors import (
    ConnectorRow,
    list_connectors,
    list_routes,
    live_processes,
    stopped_connectors,
)
from smsplatform.store.database import Database
from smsplatform.store.settings import config_version

log = logging.getLogger(__name__)

BOUND = "bound"
# How often the share of a connector's rate to pace at while Redis is away is read again.
SHARE_EVERY = 5.0

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
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._db = db
        # Scaled out: the platform's Redis, where a connector's rate and binds are shared by the nodes.
        self._shared = shared
        self._node = node
        # This process among every node's: names its bind leases.
        self.holder = f"{node or 'node'}:{os.getpid()}:{secrets.token_hex(3)}"
        self._leases = (
            None if shared is None else BindLeases(shared, self.holder, lease_seconds=lease_seconds)
        )
        # Leases are renewed, and free ones looked for, every half second (three times within a lease,
        # if it is shorter): a lost renewal does not cost a lease, and a dead holder's bind moves
        # within half a second of its lease's end. One short script call each.
        self.renew_every = min(0.5, lease_seconds / 3)
        self._budgets: dict[str, SharedRate] = {}
        self._stopped: frozenset[str] = frozenset()
        self._unshared_warned: set[str] = set()
        # Leased connectors this process failed to build, as configured: not tried at each renewal.
        self._unbuildable: dict[str, ConnectorConfig] = {}
        self._cluster_task: asyncio.Task[None] | None = None
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
        if self._shared is not None and self._cluster_task is None:
            self._cluster_task = asyncio.get_running_loop().create_task(
                self._keep_shared(), name="connector leases"
            )

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
                if wanted[row.name].max_binds is not None and self._leases is None:
                    self._warn_unshared(row.name)
            for name in list(self._connectors):
                # Binds no longer wanted here go back once unbound, not when their lease ran out.
                give_back = self._is_leased(self._configs[name]) and (name in stopped or name not in wanted)
                if name in stopped and wanted.get(name) is not None:
                    self._retire(name, reason="stopped by the operator", keep=True, give_back=give_back)
                elif wanted.get(name) != self._configs[name]:
                    self._retire(name, give_back=give_back)
            for name in list(self._halted):
                if name not in stopped or name not in wanted:
                    del self._halted[name]
            self._wanted = wanted
            self._stopped = stopped
            for name, config in wanted.items():
                if name in stopped:
                    if name not in self._halted:
                        self._halt(config)
                elif name not in self._connectors and await self._may_bind(config):
                    await self._launch(config)
            self._routes = RouteTable.build(routes, carriers, self._default_route, self._builtin_carriers)
            self._version = version

    async def stop(self) -> None:
        """Stop every connector (each lets in-flight submits finish within its stop timeout)."""
        if self._cluster_task is not None:
            self._cluster_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cluster_task
            self._cluster_task = None
        async with self._lock:
            for name in list(self._connectors):
                self._retire(name, give_back=self._is_leased(self._configs[name]))
            self._halted.clear()
            self._version = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    # -- scaled out: binds leased across nodes, the rate's share while Redis is away ------------

    def _warn_unshared(self, name: str) -> None:
        if name not in self._unshared_warned:
            self._unshared_warned.add(name)
            log.warning(
                "connector %s: max-binds holds across processes only with redis_url; "
                "here each dispatch process binds it once",
                name,
            )

    def _is_leased(self, config: ConnectorConfig) -> bool:
        """Whether `config`'s binds are leased across nodes (it caps them and Redis is configured)."""
        return self._leases is not None and config.max_binds is not None

    async def _may_bind(self, config: ConnectorConfig) -> bool:
        """Whether this process may run `config` now: always, unless its binds are leased and this
        process holds none of them (or cannot learn whether it does: Redis is away)."""
        if self._leases is None or config.max_binds is None:
            return True
        try:
            return await self._leases.hold(config.name, config.max_binds)
        except SharedUnavailable:
            return False

    async def _release(self, name: str) -> None:
        if self._leases is not None:
            with contextlib.suppress(SharedUnavailable):
                await self._leases.release(name)

    async def _keep_shared(self) -> None:
        """Renew the leases held, take those that came free, and follow the live processes' count."""
        loop = asyncio.get_running_loop()
        next_share = 0.0
        while True:
            try:
                await self.renew()
                if loop.time() >= next_share:
                    next_share = loop.time() + SHARE_EVERY
                    await self.follow_shares()
            except Exception:  # a bug or a database hiccup must not end the renewals for good
                log.exception("could not renew the connectors' bind leases")
            await asyncio.sleep(self.renew_every)

    async def renew(self) -> None:
        """One round of leases: renew each held, take each free one wanted, unbind each lost.

        While Redis is away nothing changes: bound links stay bound, unbound ones stay unbound."""
        async with self._lock:
            for name, config in self._wanted.items():
                if name in self._stopped or not self._is_leased(config):
                    continue
                if self._unbuildable.get(name) == config:
                    continue
                assert self._leases is not None and config.max_binds is not None
                try:
                    held = await self._leases.hold(name, config.max_binds)
                except SharedUnavailable:
                    continue
                running = name in self._connectors
                if held and not running:
                    await self._launch(config)
                elif running and not held:
                    self._retire(name, reason="its bind lease went to another process")

    async def follow_shares(self) -> None:
        """Set each shared budget's rate for while Redis is away: an equal share among the processes
        the database shows running the connector now."""
        if not self._budgets:
            return
        counts = await self._db.read(live_processes)
        for name, budget in self._budgets.items():
            if counts.get(name):  # none reported yet: keep the share this node's workers make
                budget.share_among(counts[name])

    def claimable(self) -> CarrierFilter | None:
        """The carriers whose messages this process may claim: None (all) unless some connector's
        binds are all held by other processes; then not the carriers only such connectors carry."""
        elsewhere = {
            name
            for name, config in self._wanted.items()
            if name not in self._connectors and name not in self._stopped and self._is_leased(config)
        }
        if not elsewhere:
            return None
        routes = self._routes

        def blocked(names: Sequence[str]) -> bool:
            return not any(n in self._connectors for n in names) and any(n in elsewhere for n in names)

        known = {*routes.routes, *routes.declared, *routes.builtin}
        excluded = frozenset(carrier for carrier in known if blocked(routes.names(carrier)))
        if blocked(routes.default):
            return CarrierFilter(only=frozenset(known) - excluded)
        return CarrierFilter(excluded=excluded) if excluded else None

    def _build(self, config: ConnectorConfig) -> Connector | None:
        shared = self._shared
        try:
            if shared is None:
                connector = self._factory(share_of(config, self._processes))
            else:  # the rate is the platform's budget (below), not divided here
                connector = self._factory(share_listener(config, self._processes))
        except ValueError as error:  # e.g. a protocol nobody implements
            log.error("connector %s: %s", config.name, error)
            return None
        if shared is not None and config.tps:
            budget = SharedRate(shared, config.name, config.tps, processes=self._processes)
            previous = self._budgets.get(config.name)
            if previous is not None:
                budget.local_rate = previous.local_rate
            self._budgets[config.name] = budget
            connector.share_rate(budget)
        connector.listener_limits = self._listener_limits
        return connector

    async def _launch(self, config: ConnectorConfig) -> None:
        connector = self._build(config)
        if connector is None:
            if self._is_leased(config):  # a lease of no use here is another process's to take
                self._unbuildable[config.name] = config
                await self._release(config.name)
            return
        connector.on_report = self._forward_report
        connector.on_inbound = self._forward_inbound
        self._connectors[config.name] = connector
        self._configs[config.name] = config
        await connector.start()
        log.info("connector %s (%s %s:%d) started", config.name, config.protocol, config.host, config.port)

    def _retire(self, name: str, *, reason: str = "", keep: bool = False, give_back: bool = False) -> None:
        """Take the connector out of service now; let it unbind in the background.

        With `keep`, its health stays on show (as stopping, then stopped) until it is started again.
        With `give_back`, its bind lease is released once it unbound, for another process to take.
        """
        connector = self._connectors.pop(name)
        self._configs.pop(name, None)
        if keep:
            self._halted[name] = connector
        task = asyncio.get_running_loop().create_task(
            self._unbind(name, connector, give_back), name=f"stop:{name}"
        )
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        log.info("connector %s stopping%s", name, f" ({reason})" if reason else "")

    async def _unbind(self, name: str, connector: Connector, give_back: bool) -> None:
        await connector.stop()
        if give_back:
            await self._release(name)

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


def share_listener(config: ConnectorConfig, processes: int) -> ConnectorConfig:
    """What one of `processes` dispatch processes runs of a connector whose rate is shared otherwise."""
    return replace(config, shared_listener=True) if processes > 1 else config


def is_up(connector: Connector) -> bool:
    return connector.state == BOUND
