"""Fresh, migrated databases in milliseconds, for test modules that need one per test.

Cloning a PostgreSQL database per test costs more than most tests themselves. Instead: SQLite is a copy
of a file migrated once per run; PostgreSQL is one database per run, cloned from the shared template
(`tests/conftest.py`) and emptied before each test (rows deleted, id sequences restarted). A test sees
exactly what a new database would show.

Use: `@pytest.fixture(params=BACKENDS)` returning `fresh_database_url(request)`, or `fresh_sqlite_url`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from smsplatform.store.database import create_engine, migrate, normalize_url
from smsplatform.store.schema import metadata
from tests.conftest import POSTGRES_ENV

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

_sqlite_template: Path | None = None
_postgres: sa.Engine | None = None


def fresh_database_url(request: pytest.FixtureRequest) -> str:
    """For a fixture parametrized with `BACKENDS`."""
    if request.param == "sqlite":
        return fresh_sqlite_url(request)
    return _emptied(_postgres_engine(request))


def fresh_sqlite_url(request: pytest.FixtureRequest) -> str:
    global _sqlite_template
    if _sqlite_template is None:
        path = request.getfixturevalue("tmp_path_factory").mktemp("template") / "smsplatform.db"
        engine = create_engine(f"sqlite:///{path}")
        migrate(engine)
        engine.dispose()
        _sqlite_template = path
    copy = request.getfixturevalue("tmp_path") / "fresh.db"
    shutil.copyfile(_sqlite_template, copy)
    return f"sqlite:///{copy}"


def _postgres_engine(request: pytest.FixtureRequest) -> sa.Engine:
    global _postgres
    if _postgres is not None:
        return _postgres
    template = str(request.getfixturevalue("postgres_template"))  # skips without a server
    admin_url = sa.make_url(normalize_url(os.environ[POSTGRES_ENV]))
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"smsplatform_fast_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    engine = sa.create_engine(admin_url.set(database=name), poolclass=sa.NullPool)

    def drop() -> None:
        global _postgres
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
        _postgres = None

    request.config.add_cleanup(drop)
    _postgres = engine
    return engine


def _emptied(engine: sa.Engine) -> str:
    """Deletes every row and restarts the id sequences."""
    with engine.begin() as conn:
        present = set(
            conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        )
        known = [t for t in reversed(metadata.sorted_tables) if t.name in present]
        for table in known:  # children first
            conn.execute(table.delete())
        others = present - {t.name for t in known} - {"alembic_version"}
        if others:
            conn.exec_driver_sql(f"TRUNCATE {', '.join(sorted(others))} CASCADE")
        conn.execute(
            sa.text(
                "SELECT setval(format('%I', sequencename)::regclass, 1, false)"
                " FROM pg_sequences WHERE schemaname = 'public'"
            )
        )
    return engine.url.render_as_string(hide_password=False)
