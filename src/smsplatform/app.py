"""The composition root: builds the rooms from the settings and wires them together.

`serve` runs whatever roles the settings name (all by default): the API (uvicorn), dispatch (the
connector manager, the dispatcher and, in the embedded default, the simulated carriers) and callbacks.
The dispatch role runs in `dispatch_workers` processes of its own (workers.py) so that it has cores of
its own; the simulated carriers stay in `serve`, and the workers link to them. Scaled out, each role
runs in processes of its own against one PostgreSQL database. There the wake-ups (messages accepted,
callbacks due) go through the database's LISTEN/NOTIFY (store/wakeups.py), so that they reach whichever
process or machine claims the work; on SQLite they stay in the machine (events, and the dispatch
workers' pipes). Either way each loop still polls every second: a lost wake-up only delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette

from smsplatform.api.app import CustomerApi, create_app
from smsplatform.api.context import ApiContext
from smsplatform.api.http import http_protocol
from smsplatform.callbacks.schedule import RetrySchedule
from smsplatform.callbacks.worker import CallbackWorker
from smsplatform.cluster.health import NodeHealth
from smsplatform.cluster.shared import SharedState, connect_shared
from smsplatform.cluster.submit_records import SubmitRecords
from smsplatform.config import ConfigError, Settings
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.datastore import open_database
from smsplatform.dispatch.dispatcher import Dispatcher
from smsplatform.dispatch.journal import ReceiptJournal
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.dispatch.policy import DispatchPolicy
from smsplatform.dispatch.retention import keep_within_retention
from smsplatform.dispatch.submit_journal import SubmitJournal
from smsplatform.domain.routes import BUILTIN_SIMULATORS as BUILTIN_SIMULATORS
from smsplatform.logs import configure_logging
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from smsplatform.store.catalog import Catalog
from smsplatform.store.clock import now
from smsplatform.store.connectors import LinkHealth, record_stats
from smsplatform.store.database import Database
from smsplatform.store.wakeups import CALLBACKS, OUTBOX, Wakeups
from smsplatform.telemetry import export_callbacks, export_links
from smsplatform.workers import DispatchWorkers, WorkerSpec

log = logging.getLogger("smsplatform")

# Short enough for every protocol: CMPP's SP id has 6 characters, SMPP passwords 8.
SIMULATOR_ACCOUNT = ("901234", "password")
SIMULATOR_SOURCE_NUMBER = "1069000"
STATS_INTERVAL = 5.0
LISTEN_BACKLOG = 2048  # uvicorn's default


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Services:
    """The background parts of a process: simulators, connectors, dispatcher, callback worker."""

    settings: Settings
    db: Database
    # Scaled out: the platform's Redis (rates, bind leases); None on one node.
    shared: SharedState | None = None
    dispatch_wake: asyncio.Event = field(default_factory=asyncio.Event)
    callbacks_wake: asyncio.Event = field(default_factory=asyncio.Event)
    simulators: dict[str, SmscServer[Any]] = field(default_factory=dict)
    manager: ConnectorManager | None = None
    dispatcher: Dispatcher | None = None
    callbacks: CallbackWorker | None = None
    workers: DispatchWorkers | None = None
    # Set in a dispatch worker: what serve passed it, and how it tells serve that callbacks are due
    # (on SQLite; on PostgreSQL the dispatcher's NOTIFY tells the callback workers of every node).
    worker_spec: WorkerSpec | None = None
    on_callbacks_due: Callable[[], None] | None = None
    # On PostgreSQL: wake-ups to and from the other processes and nodes.
    wakeups: Wakeups | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _control: list[asyncio.Server] = field(default_factory=list)

    async def start(self) -> None:
        roles = self.settings.roles
        self.wakeups = self._open_wakeups()
        if "dispatch" in roles:
            await self._start_dispatch()
        if "callbacks" in roles:
            self.callbacks = CallbackWorker(
                self.db,
                allow_private=self.settings.callback_allow_private,
                schedule=RetrySchedule(delays=self.settings.retry_delays),
                wake=self.callbacks_wake,
                account_concurrency=self.settings.callback_concurrency,
            )
            self._spawn(self.callbacks.run(), "callbacks")
            self._spawn(export_callbacks(self.callbacks.stats), "callback metrics")
        if "dispatch" in roles and self.worker_spec is None:
            # Once per node (not in each dispatch worker): old messages leave in bounded steps.
            self._spawn(keep_within_retention(self.db, self.settings.retention_days), "retention")
        if self.wakeups is not None:
            if self.dispatcher is not None:
                self.wakeups.listen(OUTBOX, self.dispatch_wake)
            if self.callbacks is not None:
                self.wakeups.listen(CALLBACKS, self.callbacks_wake)
            self.wakeups.start()

    def _open_wakeups(self) -> Wakeups | None:
        """PostgreSQL's wake-ups, unless on SQLite (one machine: its own events and pipes do) or turned
        off."""
        if self.db.dialect != "postgresql" or not self.settings.wakeups:
            return None
        return Wakeups.for_database(self.db, application_name=f"smsplatform {self.settings.node}")

    async def _start_dispatch(self) -> None:
        """The dispatch role: here, or in worker processes (which get the built-in links from here)."""
        spec = self.worker_spec
        if spec is not None:
            builtin = list(spec.builtin)
            carriers = dict(spec.builtin_carriers)
            default_route = list(spec.default_route)
        else:
            builtin = await self._start_simulators() if self.settings.simulators else []
            served = {f"sim-{protocol}": carriers for protocol, carriers in BUILTIN_SIMULATORS}
            carriers = {c.name: served[c.name] for c in builtin}
            default_route = [c.name for c in builtin][:1]
            if self.settings.dispatch_workers > 0:
                self.workers = DispatchWorkers(
                    self.settings,
                    count=self.settings.dispatch_workers,
                    builtin=builtin,
                    builtin_carriers=carriers,
                    default_route=default_route,
                    on_callbacks_due=self.callbacks_wake.set,
                )
                await self.workers.start()
                return
        self.manager = ConnectorManager(
            self.db,
            builtin=builtin,
            builtin_carriers=carriers,
            default_route=default_route,
            processes=spec.count if spec is not None else 1,
            listener_limits=self.settings.listener_limits,
            shared=self.shared,
            node=self.settings.node,
        )
        await self.manager.start()
        self.dispatcher = Dispatcher(
            self.db,
            self.manager,
            self.dispatch_wake,
            policy=DispatchPolicy(
                max_ages=self.settings.max_ages, receipt_timeout=self.settings.receipt_timeout
            ),
            journal=self._journal(),
            submit_journal=self._submit_journal(),
            on_callbacks_due=self.callbacks_due,
            callbacks_channel=CALLBACKS if self.wakeups is not None else None,
        )
        self._spawn(self.dispatcher.run(), "dispatcher")
        self._spawn(self._report_health(), "connector health")
        self._spawn(export_links(self.manager.stats), "link metrics")

    def wake_dispatch(self) -> None:
        """Messages were accepted: claim them now, here, in the workers or on other nodes."""
        self.dispatch_wake.set()
        if self.wakeups is not None:
            self.wakeups.notify(OUTBOX)  # the workers listen too
        elif self.workers is not None:
            self.workers.wake()

    def callbacks_due(self) -> None:
        """Dispatch owes customers callbacks: this process's callback worker posts them now. Other
        processes learn it from the dispatcher's NOTIFY on PostgreSQL, from a worker's pipe on SQLite."""
        self.callbacks_wake.set()
        if self.wakeups is None and self.on_callbacks_due is not None:
            self.on_callbacks_due()

    async def _start_simulators(self) -> list[ConnectorConfig]:
        """One simulated carrier per protocol, on loopback; returns the connectors that reach them."""
        settings = self.settings
        host = settings.simulator_host
        system_id, password = SIMULATOR_ACCOUNT
        rule = LastDigitRule(delay=settings.simulator_receipt_delay)
        configs = []
        for offset, (protocol, carriers) in enumerate(BUILTIN_SIMULATORS):
            options: dict[str, str] = {}
            extra: dict[str, str] = {}
            if protocol == "sgip":
                # The SMSC connects back to our listener with reports and MO (SGIP's model).
                listen_port = _free_port(host)
                extra = {"listen_host": host, "listen_port": str(listen_port), "node_id": "3000100001"}
                extra |= {"listen_login": system_id, "listen_password": password}
                options = {"callback_host": host, "callback_port": str(listen_port)}
                options |= {"callback_login": system_id, "callback_password": password}
            server = create_simulator(
                protocol,
                {system_id: password},
                rule,
                options=options,
                record=False,
                limits=settings.listener_limits,
            )
            port = settings.simulator_port + offset if settings.simulator_port else 0
            await server.start(host, port)
            self.simulators[protocol] = server
            if settings.simulator_control_port:
                from smsplatform.simulator.control import start_control

                control_port = settings.simulator_control_port + offset
                self._control.append(await start_control(server, host, control_port))
            log.info(
                "built-in %s simulator on %s:%d (carries %s)", protocol, host, server.port, carriers or "-"
            )
            configs.append(
                ConnectorConfig(
                    name=f"sim-{protocol}",
                    protocol=protocol,
                    host=host,
                    port=server.port,
                    system_id=system_id,
                    password=password,
                    source_number=SIMULATOR_SOURCE_NUMBER,
                    extra=extra,
                )
            )
        return configs

    def _journal(self) -> ReceiptJournal | None:
        """On SQLite, receipts are acknowledged once in a local journal (fsynced beside the database,
        so no less durable), which keeps the SMSC's receipt window moving between group commits. On
        PostgreSQL the database may outlive this machine's disk, so receipts wait for the commit."""
        database = self.db.engine.url.database
        if self.db.dialect != "sqlite" or not database or database == ":memory:":
            return None
        return ReceiptJournal(Path(database).parent / "receipts")

    def _submit_journal(self) -> SubmitJournal | None:
        """What went on the wire and what was answered, kept on this machine's disk (beside the
        SQLite database, or in the data directory): a dispatch process that dies, here or in a
        worker, then costs duplicates only for the submits that were awaiting their answers. Every
        dispatch process on this machine shares the directory, to give back the claims of one that
        died (workers.py restarts it). Scaled out, it is mirrored to Redis too, for the survivors on
        other machines (cluster/submit_records.py)."""
        database = self.db.engine.url.database
        if self.db.dialect == "sqlite":
            if not database or database == ":memory:":
                return None
            return SubmitJournal(Path(database).parent / "submits")
        mirror = SubmitRecords(self.shared) if self.shared is not None else None
        return SubmitJournal(self.settings.data_dir / "submits", mirror=mirror)

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def _report_health(self) -> None:
        assert self.manager is not None and self.dispatcher is not None
        process = self.dispatcher.owner
        while True:
            health = [
                LinkHealth(
                    s.name,
                    s.state,
                    s.in_flight,
                    s.sent,
                    s.errors,
                    s.received_reports,
                    s.received_mo,
                    since=int(s.since),
                    last_error=s.last_error,
                    last_error_at=None if s.last_error_at is None else int(s.last_error_at),
                    binds=s.binds,
                    window=s.window,
                    submit_rate=round(s.submit_rate, 1),
                )
                for s in self.manager.stats().values()
            ]
            try:
                await self.db.write(record_stats, process, health, now())
            except Exception:
                log.exception("could not record connector health")
            await asyncio.sleep(STATS_INTERVAL)

    async def stop(self) -> None:
        """Stops intake first, then lets in-flight work finish: dispatcher, links, callbacks, simulators."""
        if self.workers is not None:
            await self.workers.stop()  # before the simulators: the workers' in-flight submits finish
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self.manager is not None:
            await self.manager.stop()
        if self.callbacks is not None:
            await self.callbacks.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.wakeups is not None:
            await self.wakeups.close()
        for control in self._control:
            control.close()
        for server in self.simulators.values():
            await server.close()


@dataclass
class Platform:
    settings: Settings
    db: Database
    api: ApiContext
    app: CustomerApi
    health: NodeHealth
    services: Services | None = None


def build_platform(settings: Settings, db: Database | None = None, *, background: bool = True) -> Platform:
    """The API application; with `background`, its lifespan also runs the other roles of the settings."""
    database = db or open_database(settings)
    shared = open_shared(settings, database)
    health = NodeHealth(database, shared)
    ctx = ApiContext(
        settings=settings,
        db=database,
        catalog=Catalog(database, settings.config_poll_seconds),
        shared=shared,
        health=health,
    )
    app = create_app(ctx)
    platform = Platform(settings=settings, db=database, api=ctx, app=app, health=health)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        services = Services(settings, database, shared=shared) if background else None
        if services is not None:
            ctx.on_accepted = services.wake_dispatch
            platform.services = services
            await services.start()
        health.started = True
        try:
            yield
        finally:
            health.stopping = True
            if services is not None:
                await services.stop()
            await ctx.limits.close()  # the callers' counts not stored yet
            if shared is not None:
                await shared.close()
            database.close()

    app.other.router.lifespan_context = lifespan
    return platform


def open_shared(settings: Settings, db: Database) -> SharedState | None:
    """The platform's Redis as this node reaches it, when the settings name one."""
    return connect_shared(settings.redis_url, node=settings.node, db=db)


def tune_gc() -> None:
    # Long-lived configuration objects need no collecting; fewer, later collections keep pauses out of
    # request latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


class ListenError(Exception):
    """An address `serve` cannot listen on: in use, not this machine's, or a port it may not take."""


def bind_listener(host: str, port: int) -> list[socket.socket]:
    """Sockets listening on `host`:`port` as uvicorn would open them (one per address the host names),
    opened before anything starts, so that an address that cannot be had stops `serve` with nothing
    started and nothing written. Connections that come before the server answers wait in the backlog."""
    try:
        addresses = socket.getaddrinfo(
            host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as error:
        raise ListenError(f"cannot listen on {_host_port(host, port)}: {_reason(error)}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(addresses):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        for sock in sockets:
            sock.close()
        raise ListenError(f"cannot listen on {_host_port(host, port)}: {_reason(error)}") from None
    return sockets


def _reason(error: OSError) -> str:
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _urls(sockets: list[socket.socket]) -> str:
    return " and ".join(f"http://{_host_port(*sock.getsockname()[:2])}" for sock in sockets)


def _trusted_proxies(settings: Settings) -> str:
    """The `forwarded_allow_ips` setting, checked: addresses or networks, or `*` (any)."""
    text = settings.forwarded_allow_ips.strip()
    if text == "*":
        return text
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"forwarded_allow_ips: not an address or network: {entry!r}") from None
    return ",".join(entries)


def _listener_config(settings: Settings, app: Any, **options: Any) -> uvicorn.Config:
    """What the API and the console listeners share. Forwarded headers are believed only from the
    operator's `forwarded_allow_ips` (uvicorn would believe loopback, or its FORWARDED_ALLOW_IPS
    variable, by default: a local proxy that passes a client's header through would then let anyone
    pick the address the IP allow-list and the per-IP limits see)."""
    trusted = _trusted_proxies(settings)
    return uvicorn.Config(
        app,
        loop="uvloop",
        log_level="warning",
        log_config=None,  # uvicorn's lines go through configure_logging's handler
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        **options,
    )


def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then finishes the work in progress, closes the database and returns.

    The listening addresses are taken first: one that cannot be had raises ListenError before anything
    starts."""
    configure_logging(settings)
    roles = settings.roles
    _trusted_proxies(settings)  # a bad value stops here, before anything is bound
    api_sockets = bind_listener(settings.host, settings.port) if "api" in roles else []
    try:
        console_sockets = bind_listener(settings.admin_host, settings.admin_port) if "admin" in roles else []
    except ListenError:
        for sock in api_sockets:
            sock.close()
        raise
    if "api" not in roles:
        try:
            health_sockets = (
                bind_listener(settings.health_host, settings.health_port) if settings.health_port else []
            )
        except ListenError:
            for sock in console_sockets:
                sock.close()
            raise
        uvloop.run(_run_headless(settings, console_sockets, health_sockets))
    else:
        _serve_api(settings, api_sockets, console_sockets)
    log.info("smsplatform stopped")


def _serve_api(
    settings: Settings, api_sockets: list[socket.socket], console_sockets: list[socket.socket]
) -> None:
    roles = settings.roles
    where = (
        settings.database_url.split("@")[-1] if settings.database_url else str(settings.data_dir.resolve())
    )
    platform = build_platform(settings)
    tune_gc()
    config = _listener_config(
        settings,
        platform.app,
        host=settings.host,
        port=settings.port,
        http=http_protocol(settings.listener_limits),
        timeout_keep_alive=max(1, round(settings.keepalive_timeout)),
        lifespan="on",
        timeout_graceful_shutdown=10,
        backlog=LISTEN_BACKLOG,
    )
    server = _ApiServer(
        config,
        api_sockets,
        "customer API",
        f" (roles: {','.join(sorted(roles))}; data: {where})",
        on_stop=lambda: _stop_requested(platform.services, platform.health),
    )
    if console_sockets:
        server.companions.append(_admin_server(settings, platform.db, platform.health, console_sockets))
    server.run(sockets=api_sockets)


def _stop_requested(services: Services | None, health: NodeHealth) -> None:
    health.stopping = True  # /readyz says so at once: the load balancer stops sending traffic here
    if services is not None and services.workers is not None:
        services.workers.stopping()


class _Listener(uvicorn.Server):
    """A uvicorn server on sockets bound beforehand, which says so once it answers on them."""

    def __init__(
        self, config: uvicorn.Config, sockets: list[socket.socket], what: str, detail: str = ""
    ) -> None:
        super().__init__(config)
        self.sockets = sockets
        self.what = what
        self.detail = detail

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log.info("%s listening on %s%s", self.what, _urls(self.sockets), self.detail)


class _CompanionServer(_Listener):
    """A listener beside another: the one it accompanies handles the signals and stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _ApiServer(_Listener):
    """The API's server, which starts its companions (the admin listener) once its lifespan has started
    (the database is open) and stops them before its lifespan ends (the database closes).

    SIGTERM and SIGINT stop it gracefully and `serve` returns (exit status 0): uvicorn would raise the
    signal again once stopped, so that the process ended by it (status 143 for a service manager's
    ordinary stop). `on_stop` runs in the signal handler itself, before any other code: the dispatch
    workers may have had the same signal, and their exits are part of the stop."""

    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        what: str,
        detail: str,
        *,
        on_stop: Callable[[], None],
    ) -> None:
        super().__init__(config, sockets, what, detail)
        self.companions: list[_CompanionServer] = []
        self._on_stop = on_stop
        self._companion_tasks: list[asyncio.Task[None]] = []

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with _stop_signals(self.handle_exit):
            yield

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_stop()
        super().handle_exit(sig, frame)  # a second Ctrl-C stops at once, as uvicorn does

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._companion_tasks = [asyncio.create_task(c.serve(sockets=c.sockets)) for c in self.companions]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for companion in self.companions:
            companion.should_exit = True
        await asyncio.gather(*self._companion_tasks, return_exceptions=True)
        await super().shutdown(sockets)


@contextlib.contextmanager
def _stop_signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call `handler` (in the main thread, before any other Python code runs), and
    the process carries on to stop by itself; the previous handlers come back afterwards."""
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)


def _admin_server(
    settings: Settings, db: Database, health: NodeHealth, sockets: list[socket.socket]
) -> _CompanionServer:
    """The console, the management API, /metrics, /healthz and /readyz, on their own address."""
    from smsplatform.admin.app import create_admin_app
    from smsplatform.admin.context import AdminContext, session_key

    app = create_admin_app(AdminContext(settings=settings, db=db, secret_key=session_key(settings)), health)
    config = _listener_config(
        settings,
        app,
        host=settings.admin_host,
        port=settings.admin_port,
        lifespan="off",
        timeout_graceful_shutdown=5,
        backlog=LISTEN_BACKLOG,
    )
    return _CompanionServer(config, sockets, "operator console")


def _health_server(settings: Settings, health: NodeHealth, sockets: list[socket.socket]) -> _CompanionServer:
    """/healthz and /readyz of a node without the customer API."""
    from smsplatform.cluster.health import health_app

    config = _listener_config(
        settings,
        health_app(health),
        host=settings.health_host,
        port=settings.health_port,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    return _CompanionServer(config, sockets, "health checks")


async def _run_headless(
    settings: Settings, console_sockets: list[socket.socket], health_sockets: list[socket.socket]
) -> None:
    """The dispatch, callbacks and/or admin roles without the customer API."""
    db = open_database(settings)
    shared = open_shared(settings, db)
    health = NodeHealth(db, shared)
    services = Services(settings, db, shared=shared)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_requested(sig: int, frame: FrameType | None) -> None:
        _stop_requested(services, health)
        loop.call_soon_threadsafe(stop.set)

    with _stop_signals(stop_requested):
        await services.start()
        companions = [_admin_server(settings, db, health, console_sockets)] if console_sockets else []
        companions += [_health_server(settings, health, health_sockets)] if health_sockets else []
        tasks = [asyncio.create_task(c.serve(sockets=c.sockets)) for c in companions]
        tune_gc()
        health.started = True
        log.info("smsplatform running roles %s", ",".join(sorted(settings.roles)))
        try:
            await stop.wait()
        finally:
            health.stopping = True
            for companion in companions:
                companion.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.stop()
            if shared is not None:
                await shared.close()
            db.close()
