"""Fixtures shared by every room's tests: a fresh database on SQLite and, when available, PostgreSQL.

PostgreSQL runs when `SMSPLATFORM_TEST_POSTGRES_URL` names a server (e.g.
`postgresql://postgres@127.0.0.1:5432/postgres`; `.ci/run` sets it); each test gets its own database,
cloned from a migrated template so that it costs milliseconds.

Redis runs when `SMSPLATFORM_TEST_REDIS_URL` names a server (`.ci/run` sets it to the local one). Tests
share its database 0 safely: every platform's keys are under its own random platform id. Tests that stop
and start Redis start one of their own (tests/redis_server.py).
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from smsplatform.cluster.shared import SharedState
from smsplatform.store.database import Database, create_engine, migrate, normalize_url

POSTGRES_ENV = "SMSPLATFORM_TEST_POSTGRES_URL"
REDIS_ENV = "SMSPLATFORM_TEST_REDIS_URL"


# Hypothesis's deadline (200 ms per example by default) is a bound on speed, which the machine's load
# decides as much as the code: a slow example is not a failure here (tests/waiting.py says why).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


def _with_database(url: str, name: str) -> str:
    return str(sa.make_url(normalize_url(url)).set(database=name))


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The admin URL and a migrated template database, made once per run."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        )
    admin = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    template = f"smsplatform_tmpl_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{template}"')
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {POSTGRES_ENV} is unreachable: {exc.orig}")
    engine = create_engine(_with_database(url, template))
    migrate(engine)
    engine.dispose()
    clones = _clones[template] = _Clones(admin, template)
    yield template
    clones.close()
    del _clones[template]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    admin.dispose()


class _Clones:
    """Databases cloned from a template ahead of the tests that take them, and dropped after them, by
    threads of their own: CREATE DATABASE and DROP DATABASE cost tenths of a second each, mostly the
    server's writing and syncing files, which then overlaps the tests instead of coming between them."""

    AHEAD = 2

    def __init__(self, admin: sa.Engine, template: str) -> None:
        self._admin = admin
        self._template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=self.AHEAD)
        self._doomed: queue.Queue[str | None] = queue.Queue()
        self._closing = threading.Event()
        self._threads = [
            threading.Thread(target=self._make, name="postgres clones", daemon=True),
            threading.Thread(target=self._drop, name="postgres drops", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def take(self) -> str:
        """A new database's name (the test's own: it goes back through `give_back`)."""
        made = self._ready.get(timeout=120)
        if isinstance(made, BaseException):
            raise made
        return made

    def give_back(self, name: str) -> None:
        self._doomed.put(name)

    def close(self) -> None:
        self._closing.set()
        self._threads[0].join()
        while not self._ready.empty():
            made = self._ready.get_nowait()
            if isinstance(made, str):
                self._doomed.put(made)
        self._doomed.put(None)
        self._threads[1].join()

    def _make(self) -> None:
        while not self._closing.is_set():
            name = f"smsplatform_test_{uuid.uuid4().hex[:8]}"
            made: str | BaseException = name
            try:
                with self._admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
            except Exception as exc:  # the test that takes it fails with it
                made = exc
            while True:
                try:
                    self._ready.put(made, timeout=0.1)
                    break
                except queue.Full:
                    if self._closing.is_set():
                        if isinstance(made, str):
                            self._doomed.put(made)
                        return

    def _drop(self) -> None:
        while (name := self._doomed.get()) is not None:
            # A drop that fails leaves its database behind (as a run stopped midway does), not the
            # others: the server's test databases are all named smsplatform_test_*.
            with contextlib.suppress(Exception), self._admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_clones: dict[str, _Clones] = {}


def _postgres_database(template: str) -> Iterator[str]:
    """A new database cloned from `template` (see `postgres_template`), dropped afterwards."""
    url = os.environ[POSTGRES_ENV]
    clones = _clones[template]
    name = clones.take()
    try:
        yield _with_database(url, name)
    finally:
        clones.give_back(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database file, made once per run (per worker, under pytest-xdist)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "smsplatform.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection's close checkpoints the WAL: the file is the whole database
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on each backend: on SQLite a copy of the migrated template file,
    which is what migrating a new file would write, in a fraction of the time."""
    if request.param == "sqlite":
        path = tmp_path / "smsplatform.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        yield from _postgres_database(request.getfixturevalue("postgres_template"))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url, run_migrations=False)
    yield database
    database.close()


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (for tests that need PostgreSQL, not each backend)."""
    yield from _postgres_database(postgres_template)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Operators' passwords hashed with argon2id at its lowest cost in this process: the console's and
    the management API's tests create operators and log in by the hundred, and at the product's cost
    (64 MiB, 3 passes, 4 lanes) each hash is a fifth of a second of a core. What these tests prove does
    not depend on the cost; the processes the end-to-end tests start keep the product's."""
    from argon2 import PasswordHasher

    from smsplatform.admin import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis's URL; the test is skipped, saying why, when there is none."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"Redis tests need {REDIS_ENV} (e.g. redis://127.0.0.1:6379/0)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis at {REDIS_ENV} is unreachable: {exc}")
    return url


@pytest.fixture
async def connect(redis_url: str) -> AsyncIterator[Callable[..., SharedState]]:
    """Connections of several nodes (or machines) to one platform's Redis: a fresh key prefix per test,
    each connection a node of its own; all closed after the test."""
    prefix = f"smsplatform:test-{secrets.token_hex(4)}:"
    states: list[SharedState] = []

    def make(url: str = redis_url) -> SharedState:
        shared = SharedState(url, prefix=prefix, node=f"node-{len(states)}")
        states.append(shared)
        return shared

    yield make
    for shared in states:
        await shared.close()
