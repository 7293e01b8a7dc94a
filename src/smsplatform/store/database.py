"""Opening the database, migrating it, and running work on it from asyncio.

Every unit of database work is a plain function `fn(conn, *args)` over a SQLAlchemy Core connection, run
whole in a thread: one thread hop per unit of work instead of one per statement, which is what makes
SQLite fast enough for the hot path. Writes go through one writer thread that commits them in groups
(each unit in its own savepoint): many concurrent requests share one commit and one fsync, and SQLite's
single-writer rule never turns into lock waits.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

T = TypeVar("T")

# Units of work per group commit: enough to amortise the commit, few enough to keep latency low.
_MAX_GROUP = 256


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
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("smsplatform.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


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
    readers: int = 4
    _reader_pool: ThreadPoolExecutor = field(init=False)
    _queue: queue.SimpleQueue[_Job | None] = field(init=False, default_factory=queue.SimpleQueue)
    _writer: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._reader_pool = ThreadPoolExecutor(self.readers, thread_name_prefix="db-read")

    @classmethod
    def open(cls, url: str, *, run_migrations: bool = True) -> Database:
        engine = create_engine(url)
        if run_migrations:
            migrate(engine)
        read_engine = create_engine(url, for_writes=False) if engine.dialect.name == "sqlite" else engine
        return cls(engine, read_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(conn, *args, **kwargs)` on a pooled connection, outside any write transaction."""
        if kwargs:
            fn = functools.partial(fn, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reader_pool, self._run_read, fn, args)

    def _run_read(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self.read_engine.connect() as conn:
            return fn(conn, *args)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(conn, *args, **kwargs)` in a transaction; returns once it is committed.

        An exception raised by `fn` rolls back that unit alone and is raised here.
        """
        if kwargs:
            fn = functools.partial(fn, **kwargs)
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="db-write", daemon=True)
            self._writer.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, args, loop, future))
        return await future

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < _MAX_GROUP:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                group.append(job)
            self._commit_group(group)
            if stop:
                return

    def _commit_group(self, group: list[_Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            with self.engine.begin() as conn:
                for job in group:
                    outcomes.append(self._run_unit(conn, job, isolated=len(group) > 1))
        except Exception as exc:
            # The commit failed, or the single unit raised: nothing of the group is stored.
            outcomes = [(None, exc)] * len(group)
        for job, (result, error) in zip(group, outcomes, strict=True):
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)

    @staticmethod
    def _run_unit(conn: sa.Connection, job: _Job, *, isolated: bool) -> tuple[Any, BaseException | None]:
        if not isolated:
            return job.fn(conn, *job.args), None
        savepoint = conn.begin_nested()
        try:
            result = job.fn(conn, *job.args)
        except Exception as exc:
            savepoint.rollback()
            return None, exc
        savepoint.commit()
        return result, None

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout=30)
            self._writer = None
        self._reader_pool.shutdown(wait=True)
        self.engine.dispose()
        self.read_engine.dispose()
