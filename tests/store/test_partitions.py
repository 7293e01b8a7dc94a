"""PostgreSQL's day partitions of the message table, seen in the catalog (pg_inherits): made a week
ahead, an expired day dropped whole with what refers to it, and migration 0014 keeping the messages
stored before it."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from smsplatform.store import partitions
from smsplatform.store.database import Database, create_engine, normalize_url
from smsplatform.store.retention import DAY, purge
from smsplatform.store.schema import callbacks, message_parts, messages, sends
from tests.store.test_retention import NOW, YOUNG, add_history, seed

pytestmark = pytest.mark.postgres

TODAY = partitions.day_of(NOW)


def attached(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'messages'::regclass"
        ).scalars()
        return {str(name) for name in rows}


def table_exists(db: Database, name: str) -> bool:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT to_regclass(%(n)s)", {"n": name}).scalar() is not None


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    db = Database.open(postgres_url)
    try:
        yield db
    finally:
        db.close()


def test_a_migrated_database_has_today_and_a_week_ahead(pg: Database) -> None:
    names = attached(pg)
    days = {partitions.partition_name(d) for d in range(TODAY, TODAY + partitions.DAYS_AHEAD + 1)}
    assert days <= names and partitions.LEGACY in names


def test_a_new_message_id_names_its_day_and_lands_in_its_partition(pg: Database) -> None:
    with pg.engine.begin() as conn:
        seed(conn)
        add_history(conn, NOW, 3)
    with pg.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, tableoid::regclass::text FROM messages ORDER BY id").all()
    assert [int(i) >> partitions.DAY_BITS for i, _ in rows] == [TODAY] * 3
    assert {table for _, table in rows} == {partitions.partition_name(TODAY)}
    assert [int(i) for i, _ in rows] == sorted(int(i) for i, _ in rows)


def test_a_round_makes_partitions_ahead_as_days_pass(pg: Database) -> None:
    later = NOW + 30 * DAY
    done = asyncio.run(purge(pg, 90, later))
    expected = {partitions.partition_name(d) for d in range(TODAY + 30, TODAY + 38)}
    assert expected <= attached(pg)
    assert set(done.partitions_created) == expected - {
        partitions.partition_name(d) for d in range(TODAY, TODAY + 8)
    }


def test_an_expired_day_is_dropped_whole_and_younger_days_stay(pg: Database) -> None:
    old_day = TODAY - 100
    with pg.engine.begin() as conn:
        seed(conn)
        partitions.create_ahead(conn, old_day, 0)
        old_sends = add_history(conn, old_day * DAY + 3600, 50, first_id=partitions.first_id_of_day(old_day))
        young_sends = add_history(conn, YOUNG, 5)
    assert partitions.partition_name(old_day) in attached(pg)

    done = asyncio.run(purge(pg, 90, NOW, chunk=20))

    assert done.partitions_dropped == [partitions.partition_name(old_day)]
    names = attached(pg)
    assert partitions.partition_name(old_day) not in names
    assert not table_exists(pg, partitions.partition_name(old_day))  # detached and dropped
    assert partitions.partition_name(TODAY + 1) in names  # tomorrow's is there
    low, high = partitions.first_id_of_day(old_day), partitions.first_id_of_day(old_day + 1)
    with pg.engine.connect() as conn:
        for table in (message_parts, callbacks):
            left = conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.message_id >= low, table.c.message_id < high)
            ).scalar_one()
            assert left == 0, table.name
        kept = set(conn.execute(sa.select(sends.c.id)).scalars())
        assert kept == set(young_sends) and not kept & set(old_sends)
        assert conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar_one() == 5


def test_rounds_on_several_nodes_at_once_drop_a_day_once(postgres_url: str) -> None:
    nodes = [Database.open(postgres_url) for _ in range(3)]
    try:
        old_day = TODAY - 120
        with nodes[0].engine.begin() as conn:
            seed(conn)
            partitions.create_ahead(conn, old_day, 0)
            add_history(conn, old_day * DAY, 10, first_id=partitions.first_id_of_day(old_day))

        async def together() -> list[list[str]]:
            rounds = await asyncio.gather(*(purge(db, 90, NOW) for db in nodes))
            return [r.partitions_dropped for r in rounds]

        dropped = asyncio.run(together())
        assert sorted(name for names in dropped for name in names) == [partitions.partition_name(old_day)]
        assert partitions.partition_name(old_day) not in attached(nodes[0])
    finally:
        for db in nodes:
            db.close()


# --- migration 0014 -------------------------------------------------------------------------------


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    url = os.environ.get("SMSPLATFORM_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("needs SMSPLATFORM_TEST_POSTGRES_URL")
    admin = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    name = f"smsplatform_m14_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.make_url(normalize_url(url)).set(database=name))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _upgrade(engine: sa.Engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("smsplatform.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_migration_0014_keeps_the_messages_and_their_receipts_links(empty_postgres: str) -> None:
    engine = create_engine(empty_postgres)
    try:
        _upgrade(engine, "0013")
        stamp = int(time.time()) - 5 * DAY
        with engine.begin() as conn:
            seed(conn)
            conn.exec_driver_sql(
                "INSERT INTO sends (customer_id, account_id, count, fee, created_at)"
                " VALUES (1, 11, 2, 2, %s)",
                (stamp,),
            )
            for mobile in ("13800138000", "13900139000"):
                conn.exec_driver_sql(
                    "INSERT INTO messages (send_id, customer_id, account_id, mobile, content, kind, segments,"
                    " carrier, state, stat, created_at) VALUES (1, 1, 11, %s, 'hi', 'notice', 1, 'mobile',"
                    " 'delivered', 'DELIVRD', %s)",
                    (mobile, stamp),
                )
            conn.exec_driver_sql(
                "INSERT INTO message_parts (message_id, part, connector, remote_id)"
                " SELECT id, 1, 'smsc-1', 'r' || id FROM messages"
            )
            before = conn.exec_driver_sql("SELECT id, mobile FROM messages ORDER BY id").all()

        _upgrade(engine, "head")

        with engine.begin() as conn:
            after = conn.exec_driver_sql("SELECT id, mobile FROM messages ORDER BY id").all()
            assert after == before
            linked = conn.exec_driver_sql(
                "SELECT m.mobile, p.remote_id FROM message_parts p JOIN messages m ON m.id = p.message_id"
                " ORDER BY m.id"
            ).all()
            assert [(mobile, remote) for mobile, remote in linked] == [
                (mobile, f"r{i}") for i, mobile in before
            ]
            where = conn.exec_driver_sql("SELECT DISTINCT tableoid::regclass::text FROM messages").scalars()
            assert list(where) == [partitions.LEGACY]
            # A message accepted after the migration: today's partition, above every older id.
            conn.exec_driver_sql(
                "INSERT INTO messages (send_id, customer_id, account_id, mobile, content, kind, segments,"
                " carrier, state, created_at) VALUES (1, 1, 11, '13700137000', 'hi', 'notice', 1, 'mobile',"
                " 'queued', %s)",
                (int(time.time()),),
            )
            newest = conn.exec_driver_sql("SELECT max(id) FROM messages").scalar_one()
            assert int(newest) >> partitions.DAY_BITS == partitions.day_of(int(time.time()))
    finally:
        engine.dispose()

    # The legacy rows leave by chunked deletes once past the retention, with their parts.
    db = Database.open(empty_postgres)
    try:
        asyncio.run(purge(db, 1, int(time.time())))
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM messages_legacy").scalar_one() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM message_parts").scalar_one() == 0
            assert conn.exec_driver_sql("SELECT count(*) FROM messages").scalar_one() == 1
    finally:
        db.close()
