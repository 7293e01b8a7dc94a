"""Fixtures: a SQLite store with one customer (or a store on each backend), and a receiver on loopback."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smsplatform.store.customers import create_customer
from smsplatform.store.database import Database, create_engine, migrate
from tests.callbacks.receiver import Receiver
from tests.callbacks.support import Customer


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once: copying it is much faster than migrating for every test."""
    path = tmp_path_factory.mktemp("template") / "t.db"
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection closing folds the WAL back into the file
    return path


@pytest.fixture
def db(tmp_path: Path, migrated: Path) -> Iterator[Database]:
    shutil.copyfile(migrated, tmp_path / "t.db")
    database = Database.open(f"sqlite:///{tmp_path}/t.db", run_migrations=False)
    yield database
    database.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def customer(db: Database) -> Customer:
    found = await db.write(create_customer, "acme", 1_000_000)
    return Customer(found.id, found.appkey)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_on_each(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh store on SQLite, then on PostgreSQL (whose claims lock rows and skip the locked)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("db")
        return
    database = Database.open(request.getfixturevalue("postgres_url"), run_migrations=False)
    yield database
    database.close()


@pytest.fixture
async def customer_on_each(db_on_each: Database) -> Customer:
    found = await db_on_each.write(create_customer, "acme", 1_000_000)
    return Customer(found.id, found.appkey)
