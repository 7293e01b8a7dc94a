"""Opening the database, migrating it, and running work on it from asyncio.

Every unit of database work is a plain function `fn(conn, *args)` over a SQLAlchemy Core connection, run
whole in a thread: one thread hop per unit of work instead of one per statement, which is what makes
SQLite fast enough for the hot path. Writes go through one writer thread that commits them in groups
(each unit in its own savepoint): many concurrent requests share one commit and one fsync, and SQLite's
single-writer rule never turns into lock waits.

Several processes may write one SQLite file (the dispatch workers beside `serve`). Their writers take
turns under an exclusive `flock` on a file beside the database: the kernel hands it to the next waiter
the moment it is released, where SQLite's own busy handler would poll with sleeps of growing length.

Some writes are urgent (`write_urgent`): status reports and replies on their way to a
customer, and the callback worker's claims and outcomes. A customer waits on them, and nothing they
do waits on a claim or a submit result. Under load the turn is busy nearly all the time, and an even
race for it made every report wait behind several claims and results of the other processes. So an
urgent group announces itself with a shared `flock` on a second file (the gate) while it waits for
the turn, and an ordinary writer that gets the turn while the gate is announced gives the turn up and
waits for the gate to clear (at most `_GIVE_WAY_SECONDS`, once): a report waits for at most the
transaction under way. Within a process, urgent jobs form their own groups, ahead of the ordinary ones
queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from smsplatform.store import secrets as secret_store
from smsplatform.store import statistics
from smsplatform.store.errors import StoreError
from smsplatform.store.secrets import SecretBox

T = TypeVar("T")
Item = TypeVar("Item")
P = ParamSpec("P")

log = logging.getLogger(__name__)

# Past this size the writer itself finishes a checkpoint so that the WAL starts over.
_WAL_RESET_BYTES = 64 * 1024 * 1024

# Units of work per group commit: enough to amortise the commit, few enough to keep latency low.
_MAX_GROUP = 256

# On PostgreSQL the writer keeps its connection between groups: the pool checks a connection at every
# checkout (pre-ping, a round trip: one more per transaction, thousands a minute under load). One left
# idle this long goes back to the pool, so that the next group's checkout checks it.
_WRITER_IDLE_SECONDS = 5.0


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'smsplatform.db'}"


def create_engine(url: str, *, for_writes: bool = True) -> sa.Engine:
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = sa.create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=8, max_overflow=8
    )
    # IMMEDIATE takes the write lock up front, so two processes (serve and the CLI) that both read and
    # then write never deadlock; readers use a plain deferred BEGIN for a consistent snapshot.
    begin = "BEGIN IMMEDIATE" if for_writes else "BEGIN"

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions; WAL so that readers never block the writer.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of a big send stay in memory
        if for_writes:
            # Checkpoints run on their own thread (Database._checkpoint_loop), not inside a commit that a
            # request is waiting for.
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


# The PostgreSQL advisory lock held while migrating (any fixed number: the platform's own), so that two
# `smsplatform migrate` or migrating `serve` runs started together upgrade one after the other.
MIGRATION_LOCK = 0x736D_736D_6967  # "smsmig"


class SchemaOutOfDate(StoreError):
    """The database's schema is not the one this release needs, and this process may not migrate it."""


def _alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("smsplatform.store") / "migrations"))
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (idempotent).

    On PostgreSQL the upgrade runs under a transaction-level advisory lock: a second process waits for
    the first to commit, then finds the schema newest and does nothing. (On SQLite the upgrade's
    BEGIN IMMEDIATE does the same.)"""
    cfg = _alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def newest_revision() -> str:
    """The schema revision this release needs."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def schema_revision(engine: sa.Engine) -> str | None:
    """The database's schema revision (None: an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_newest_schema(engine: sa.Engine) -> None:
    """Raises SchemaOutOfDate, saying what to run, unless the database is at the newest revision."""
    current, needed = schema_revision(engine), newest_revision()
    if current == needed:
        return
    if current is not None and not _known_revision(current):
        # Migrated by a newer release (a rolling upgrade): migrating cannot help this node, upgrading can.
        raise SchemaOutOfDate(
            f"the database is at revision {current}, newer than this release knows (it needs {needed}): "
            "upgrade this node to the release that migrated it"
        )
    at = f"at revision {current}" if current else "empty (no schema)"
    raise SchemaOutOfDate(f"the database is {at}, this release needs {needed}: run `smsplatform migrate`")


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _check_and_seal(engine: sa.Engine, secrets: SecretBox, key_source: str) -> secret_store.Sealed:
    """Refuses a key that is not the database's, then seals what an older schema kept in plain.

    On SQLite the sealing runs with secure_delete, so that the plain values it replaces are overwritten
    in their pages rather than left in free space, and the WAL that held them is truncated after."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        # On the driver's connection: through SQLAlchemy, the pragma would begin a transaction.
        driver: Any = conn.connection.driver_connection
        if sqlite:
            driver.execute("PRAGMA secure_delete=ON")
        try:
            with conn.begin():
                secret_store.check_key(conn, secrets, source=key_source)
                sealed = secret_store.seal_plaintext(conn, secrets)
        finally:
            if sqlite:
                driver.execute("PRAGMA secure_delete=OFF")
    if sealed.total and sqlite:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
    return sealed


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    batched: bool = False  # fn takes a list of items and returns a list of results
    urgent: bool = False  # committed ahead of ordinary jobs (see the module docstring)


def _units(group: list[_Job]) -> list[list[_Job]]:
    """The group's units of work: each plain job alone, batched jobs of one function together."""
    units: list[list[_Job]] = []
    batches: dict[Callable[..., Any], list[_Job]] = {}
    for job in group:
        if not job.batched:
            units.append([job])
        elif job.fn in batches:
            batches[job.fn].append(job)
        else:
            batches[job.fn] = [job]
            units.append(batches[job.fn])
    return units


# An ordinary writer gives way to urgent ones at most this long: overlapping urgent groups (several
# processes' reports, the callback worker) could otherwise hold the gate for as long as reports flow,
# and claims, submit results and acceptances would starve.
_GIVE_WAY_SECONDS = 0.05


def _gate_clear(gate: int) -> bool:
    """Whether no urgent writer has announced itself on the gate."""
    try:
        fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(gate, fcntl.LOCK_UN)
    return True


def _wait_for_gate(gate: int) -> None:
    """Until the urgent writers announced on the gate are through, or `_GIVE_WAY_SECONDS` passed.
    Polled: a blocking request for the gate would wait as long as urgent groups overlap."""
    deadline = time.monotonic() + _GIVE_WAY_SECONDS
    while not _gate_clear(gate) and time.monotonic() < deadline:
        time.sleep(0.001)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _settled(unit: list[_Job], results: list[Any]) -> dict[int, tuple[Any, BaseException | None]]:
    return {id(job): (result, None) for job, result in zip(unit, results, strict=True)}


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


@dataclass
class Database:
    """The one handle the rest of the platform uses to reach the store."""

    engine: sa.Engine
    read_engine: sa.Engine
    # The key of the database's secrets (see store/secrets.py): one made for this process alone unless
    # `open` was given the platform's.
    secrets: SecretBox = field(default_factory=SecretBox.for_this_process)
    readers: int = 4
    # Seconds between looks for tables that filled without planner statistics (PostgreSQL).
    statistics_interval: float = 5.0
    _reader_pool: ThreadPoolExecutor = field(init=False)
    _queue: queue.SimpleQueue[_Job | None] = field(init=False, default_factory=queue.SimpleQueue)
    _writer: threading.Thread | None = field(init=False, default=None)
    _closing: threading.Event = field(init=False, default_factory=threading.Event)
    _wal_path: Path | None = field(init=False, default=None)
    _turn_path: Path | None = field(init=False, default=None)
    _turn_fd: int | None = field(init=False, default=None)
    _gate_fd: int | None = field(init=False, default=None)
    _held: sa.Connection | None = field(init=False, default=None)  # the writer's, on PostgreSQL
    _held_since: float = field(init=False, default=0.0)  # when it last committed

    def __post_init__(self) -> None:
        self._reader_pool = ThreadPoolExecutor(self.readers, thread_name_prefix="db-read")
        database = self.engine.url.database if self.dialect == "sqlite" else None
        if database and database != ":memory:":
            self._wal_path = Path(f"{database}-wal")
            self._turn_path = Path(f"{database}-writer")

    @classmethod
    def open(
        cls,
        url: str,
        *,
        run_migrations: bool = True,
        secrets: SecretBox | None = None,
        key_source: str = "the settings",
    ) -> Database:
        """The database at `url`, migrated unless told not to.

        With `secrets` (the platform's key; `key_source` says where it came from, for the error), a key
        that is not the database's is refused, and secrets an older schema kept in plain are sealed.
        Without it (tests, tools), the key this process already opened the URL with, else one made for
        this process alone, which refuses and seals nothing.
        """
        engine = create_engine(url)
        try:
            if run_migrations:
                migrate(engine)
            if secrets is not None:
                sealed = _check_and_seal(engine, secrets, key_source)
                if sealed.total:
                    log.info(
                        "sealed the secrets kept in plain: %d appkeys, %d reply passwords, %d connectors",
                        sealed.appkeys,
                        sealed.reply_passwords,
                        sealed.connectors,
                    )
            else:
                secrets = secret_store.bound(engine) or SecretBox.for_this_process()
        except BaseException:
            engine.dispose()
            raise
        read_engine = create_engine(url, for_writes=False) if engine.dialect.name == "sqlite" else engine
        for each in (engine, read_engine):
            secret_store.bind(each, secrets)
        return cls(engine, read_engine, secrets)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def read(
        self, fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(conn, *args, **kwargs)` on a pooled connection, outside any write transaction."""
        unit: Callable[..., T] = functools.partial(fn, **kwargs) if kwargs else fn
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self._run_read, unit, args)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.read_engine.connect() as conn:
            return fn(conn, *args)

    async def write(
        self, fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(conn, *args, **kwargs)` in a transaction; returns once it is committed.

        An exception raised by `fn` rolls back that unit alone and is raised here.
        """
        unit: Callable[..., T] = functools.partial(fn, **kwargs) if kwargs else fn
        loop = asyncio.get_running_loop()
        result: T = await self._submit(_Job(unit, args, loop, loop.create_future()))
        return result

    async def write_urgent(
        self, fn: Callable[Concatenate[sa.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like `write`, ahead of ordinary writes, this process's and the others' (see the module
        docstring): for what a customer is waiting on and depends on no ordinary write."""
        unit: Callable[..., T] = functools.partial(fn, **kwargs) if kwargs else fn
        loop = asyncio.get_running_loop()
        result: T = await self._submit(_Job(unit, args, loop, loop.create_future(), urgent=True))
        return result

    async def write_batched(self, fn: Callable[[sa.Connection, list[Item]], list[T]], item: Item) -> T:
        """Like `write`, for the hot path: concurrent items of the same `fn` go to one call of
        `fn(conn, items)`, which returns one result per item. Should that call raise, each item is
        retried alone, so a bad item fails by itself.
        """
        loop = asyncio.get_running_loop()
        result: T = await self._submit(_Job(fn, (item,), loop, loop.create_future(), batched=True))
        return result

    async def _submit(self, job: _Job) -> Any:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="db-write", daemon=True)
            self._writer.start()
            if self.dialect == "sqlite":
                threading.Thread(target=self._checkpoint_loop, name="db-checkpoint", daemon=True).start()
            elif self.dialect == "postgresql":
                threading.Thread(target=self._statistics_loop, name="db-statistics", daemon=True).start()
        self._queue.put(job)
        return await job.future

    def _write_loop(self) -> None:
        last_checkpoint = time.monotonic()
        waiting: list[_Job] = []  # ordinary jobs left for a later group, in order
        stop = False
        while True:
            if not waiting:
                first = self._queue.get()
                if first is None:
                    return
                waiting.append(first)
            while len(waiting) < _MAX_GROUP:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                waiting.append(job)
            group = [job for job in waiting if job.urgent]
            if group:
                waiting = [job for job in waiting if not job.urgent]
            else:
                group, waiting = waiting, []
            self._commit_group(group)
            if stop and waiting:
                continue  # what was queued before the stop is still written
            if self._wal_path is not None and time.monotonic() - last_checkpoint >= 1.0:
                last_checkpoint = time.monotonic()
                if _size(self._wal_path) > _WAL_RESET_BYTES:
                    # The checkpoint thread has copied most of the WAL already; finishing here, where no
                    # write can race it, lets the next transaction start the WAL over instead of growing it.
                    self._checkpoint(self.engine)
            if stop and not waiting:
                return

    @contextlib.contextmanager
    def _writers_turn(self, urgent: bool) -> Iterator[None]:
        """Exclusive use of the SQLite file among this machine's processes, urgent writers first (see
        the module docstring)."""
        if self._turn_path is None:
            yield
            return
        if self._turn_fd is None:
            self._turn_fd = os.open(self._turn_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._gate_fd = os.open(f"{self._turn_path}-gate", os.O_RDWR | os.O_CREAT, 0o600)
        turn, gate = self._turn_fd, self._gate_fd
        assert gate is not None
        if urgent:
            fcntl.flock(gate, fcntl.LOCK_SH)  # announced: ordinary writers give way
            fcntl.flock(turn, fcntl.LOCK_EX)
        else:
            fcntl.flock(turn, fcntl.LOCK_EX)
            if not _gate_clear(gate):  # an urgent writer waits: after it, but only once
                fcntl.flock(turn, fcntl.LOCK_UN)
                _wait_for_gate(gate)
                fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)
            if urgent:
                fcntl.flock(gate, fcntl.LOCK_UN)

    def _commit_group(self, group: list[_Job]) -> None:
        units = _units(group)
        outcomes: dict[int, tuple[Any, BaseException | None]] = {}
        try:
            with self._writers_turn(urgent=group[0].urgent), self._transaction() as conn:
                for unit in units:
                    outcomes.update(self._run_unit(conn, unit, isolated=len(units) > 1 or len(unit) > 1))
        except Exception as exc:
            # The commit failed, or the only unit raised: nothing of the group is stored.
            outcomes = {id(job): (None, exc) for job in group}
        for job in group:
            result, error = outcomes[id(job)]
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """A transaction of the writer's, committed when the block ends."""
        if self.dialect != "postgresql":
            with self.engine.begin() as conn:
                yield conn
            return
        held = self._held
        if held is not None and (
            held.invalidated or time.monotonic() - self._held_since > _WRITER_IDLE_SECONDS
        ):
            held.close()
            held = None
        conn = held if held is not None else self.engine.connect()
        self._held = conn
        with conn.begin():
            yield conn
        self._held_since = time.monotonic()

    def _run_unit(
        self, conn: sa.Connection, unit: list[_Job], *, isolated: bool
    ) -> dict[int, tuple[Any, BaseException | None]]:
        if not isolated:
            return _settled(unit, self._call(conn, unit))
        savepoint = conn.begin_nested()
        try:
            results = self._call(conn, unit)
        except Exception as exc:
            savepoint.rollback()
            if len(unit) == 1:
                return {id(unit[0]): (None, exc)}
            # One bad item must not fail its neighbours: each on its own.
            outcomes: dict[int, tuple[Any, BaseException | None]] = {}
            for job in unit:
                outcomes.update(self._run_unit(conn, [job], isolated=True))
            return outcomes
        savepoint.commit()
        return _settled(unit, results)

    @staticmethod
    def _call(conn: sa.Connection, unit: list[_Job]) -> list[Any]:
        """One result per job of the unit."""
        head = unit[0]
        if head.batched:
            return list(head.fn(conn, [job.args[0] for job in unit]))
        return [head.fn(conn, *head.args)]

    def _checkpoint_loop(self) -> None:
        """Copies the WAL back into the database every second, beside the writer, never blocking it."""
        while not self._closing.wait(1.0):
            self._checkpoint(self.read_engine)

    def _statistics_loop(self) -> None:
        """Analyses the tables that filled before autovacuum first looked at them (store/statistics.py),
        beside the writer, on a connection of its own."""
        while not self._closing.wait(self.statistics_interval):
            try:
                with self.engine.connect() as conn:
                    analyzed = statistics.analyze_unseen(conn.execution_options(isolation_level="AUTOCOMMIT"))
            except sa.exc.SQLAlchemyError as exc:
                log.debug("looking for tables without statistics failed: %s", exc)
                continue
            if analyzed:
                log.info("analysed %s: filled before autovacuum first looked", ", ".join(analyzed))

    @staticmethod
    def _checkpoint(engine: sa.Engine) -> None:
        raw = engine.raw_connection()
        try:
            # Outside any transaction: a checkpoint inside one could not pass its own snapshot.
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
        except sqlite3.Error:
            pass
        finally:
            raw.close()

    def close(self) -> None:
        self._closing.set()
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=30)
            self._writer = None
        if self._held is not None:
            self._held.close()
            self._held = None
        if self._turn_fd is not None:
            os.close(self._turn_fd)
            self._turn_fd = None
        if self._gate_fd is not None:
            os.close(self._gate_fd)
            self._gate_fd = None
        self._reader_pool.shutdown(wait=True)
        self.engine.dispose()
        self.read_engine.dispose()
