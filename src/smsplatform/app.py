"""The composition root: builds the rooms from the settings and wires them together.

`serve` runs whatever roles the settings name (all by default): the API (uvicorn), dispatch (the
connector manager, the dispatcher and, in the embedded default, the simulated carriers) and callbacks.
The dispatch role runs in `dispatch_workers` processes of its own (workers.py) so that it has cores of
its own; the simulated carriers stay in `serve`, and the workers link to them. Scaled out, each role
runs in processes of its own against one PostgreSQL database; the API's wake-up of the dispatcher is
then lost across machines, and dispatch finds new messages by polling every second instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from starlette.applications import Starlette

from smsplatform.api.app import CustomerApi, create_app
from smsplatform.api.context import ApiContext
from smsplatform.api.http import http_protocol
from smsplatform.callbacks.schedule import RetrySchedule
from smsplatform.callbacks.worker import CallbackWorker
from smsplatform.config import Settings
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.datastore import open_database
from smsplatform.dispatch.dispatcher import Dispatcher
from smsplatform.dispatch.journal import ReceiptJournal
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.dispatch.policy import DispatchPolicy
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
from smsplatform.telemetry import export_callbacks, export_links
from smsplatform.workers import DispatchWorkers, ServePipe, WorkerSpec

log = logging.getLogger("smsplatform")

# Short enough for every protocol: CMPP's SP id has 6 characters, SMPP passwords 8.
SIMULATOR_ACCOUNT = ("901234", "password")
SIMULATOR_SOURCE_NUMBER = "1069000"
STATS_INTERVAL = 5.0


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Services:
    """The background parts of a process: simulators, connectors, dispatcher, callback worker."""

    settings: Settings
    db: Database
    dispatch_wake: asyncio.Event = field(default_factory=asyncio.Event)
    callbacks_wake: asyncio.Event = field(default_factory=asyncio.Event)
    simulators: dict[str, SmscServer[Any]] = field(default_factory=dict)
    manager: ConnectorManager | None = None
    dispatcher: Dispatcher | None = None
    callbacks: CallbackWorker | None = None
    workers: DispatchWorkers | None = None
    # Set in a dispatch worker: what serve passed it, and how it tells serve that callbacks are due.
    worker_spec: WorkerSpec | None = None
    on_callbacks_due: Callable[[], None] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _control: list[asyncio.Server] = field(default_factory=list)

    async def start(self) -> None:
        roles = self.settings.roles
        if "dispatch" in roles:
            await self._start_dispatch()
        if "callbacks" in roles:
            self.callbacks = CallbackWorker(
                self.db,
                allow_private=self.settings.callback_allow_private,
                schedule=RetrySchedule(delays=self.settings.retry_delays),
                wake=self.callbacks_wake,
            )
            self._spawn(self.callbacks.run(), "callbacks")
            self._spawn(export_callbacks(self.callbacks.stats), "callback metrics")

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
            on_callbacks_due=self.on_callbacks_due or self.callbacks_wake.set,
        )
        self._spawn(self.dispatcher.run(), "dispatcher")
        self._spawn(self._report_health(), "connector health")
        self._spawn(export_links(self.manager.stats), "link metrics")

    def wake_dispatch(self) -> None:
        """Messages were accepted: claim them now, here or in the workers."""
        self.dispatch_wake.set()
        if self.workers is not None:
            self.workers.wake()

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
            server = create_simulator(protocol, {system_id: password}, rule, options=options, record=False)
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
        died (workers.py restarts it)."""
        database = self.db.engine.url.database
        if self.db.dialect == "sqlite":
            if not database or database == ":memory:":
                return None
            return SubmitJournal(Path(database).parent / "submits")
        return SubmitJournal(self.settings.data_dir / "submits")

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
    services: Services | None = None


def build_platform(settings: Settings, db: Database | None = None, *, background: bool = True) -> Platform:
    """The API application; with `background`, its lifespan also runs the other roles of the settings."""
    database = db or open_database(settings)
    ctx = ApiContext(settings=settings, db=database, catalog=Catalog(database, settings.config_poll_seconds))
    app = create_app(ctx)
    platform = Platform(settings=settings, db=database, api=ctx, app=app)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        services = Services(settings, database) if background else None
        if services is not None:
            ctx.on_accepted = services.wake_dispatch
            platform.services = services
            await services.start()
        try:
            yield
        finally:
            if services is not None:
                await services.stop()
            await ctx.limits.close()  # the callers' counts not stored yet
            database.close()

    app.other.router.lifespan_context = lifespan
    return platform


def _tune_gc() -> None:
    # Long-lived configuration objects need no collecting; fewer, later collections keep pauses out of
    # request latency.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def serve(settings: Settings) -> None:
    """Runs until SIGTERM or SIGINT, then finishes the work in progress and closes the database."""
    configure_logging(settings)
    roles = settings.roles
    where = (
        settings.database_url.split("@")[-1] if settings.database_url else str(settings.data_dir.resolve())
    )
    if "api" not in roles:
        uvloop.run(_run_headless(settings))
        return
    platform = build_platform(settings)
    _tune_gc()
    log.info(
        "smsplatform serving on http://%s:%d (roles: %s; data: %s)",
        settings.host,
        settings.port,
        ",".join(sorted(roles)),
        where,
    )
    config = uvicorn.Config(
        platform.app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=http_protocol(settings.listener_limits),
        timeout_keep_alive=max(1, round(settings.keepalive_timeout)),
        log_level="warning",
        log_config=None,  # uvicorn's lines go through configure_logging's handler
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    companions = [_admin_server(settings, platform.db)] if "admin" in roles else []
    _ApiServer(config, companions).run()


class _CompanionServer(uvicorn.Server):
    """A listener beside another: the one it accompanies handles the signals and stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _ApiServer(uvicorn.Server):
    """The API's server, which starts its companions (the admin listener) once its lifespan has started
    (the database is open) and stops them before its lifespan ends (the database closes)."""

    def __init__(self, config: uvicorn.Config, companions: list[uvicorn.Server]) -> None:
        super().__init__(config)
        self.companions = companions
        self._companion_tasks: list[asyncio.Task[None]] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._companion_tasks = [asyncio.create_task(c.serve()) for c in self.companions]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for companion in self.companions:
            companion.should_exit = True
        await asyncio.gather(*self._companion_tasks, return_exceptions=True)
        await super().shutdown(sockets)


def _admin_server(settings: Settings, db: Database) -> uvicorn.Server:
    """The console, the management API and /metrics, on their own address."""
    from smsplatform.admin.app import create_admin_app
    from smsplatform.admin.context import AdminContext, session_key

    app = create_admin_app(AdminContext(settings=settings, db=db, secret_key=session_key(settings)))
    log.info("operator console on http://%s:%d", settings.admin_host, settings.admin_port)
    config = uvicorn.Config(
        app,
        host=settings.admin_host,
        port=settings.admin_port,
        loop="uvloop",
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    return _CompanionServer(config)


async def _run_headless(settings: Settings) -> None:
    """The dispatch, callbacks and/or admin roles without the customer API."""
    db = open_database(settings)
    services = Services(settings, db)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await services.start()
    admin = _admin_server(settings, db) if "admin" in settings.roles else None
    admin_task = asyncio.create_task(admin.serve()) if admin is not None else None
    _tune_gc()
    log.info("smsplatform running roles %s", ",".join(sorted(settings.roles)))
    try:
        await stop.wait()
    finally:
        if admin is not None and admin_task is not None:
            admin.should_exit = True
            await asyncio.gather(admin_task, return_exceptions=True)
        await services.stop()
        db.close()


def run_dispatch_worker(settings: Settings, spec: WorkerSpec) -> None:
    """The dispatch role in a worker process `serve` started (see workers.py)."""
    uvloop.run(_run_worker(settings, spec))


async def _run_worker(settings: Settings, spec: WorkerSpec) -> None:
    db = open_database(settings)
    services = Services(settings, db, worker_spec=spec)
    stop = asyncio.Event()
    pipe = ServePipe(spec.callbacks_fd, on_wake=services.dispatch_wake.set, on_gone=stop.set)
    services.on_callbacks_due = pipe.callbacks_due
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)  # SIGINT is ignored: see workers.WORKER_ENTRY
    pipe.start()
    await services.start()
    _tune_gc()
    try:
        await stop.wait()
    finally:
        pipe.close()
        await services.stop()
        db.close()
