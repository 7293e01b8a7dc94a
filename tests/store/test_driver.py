"""Statements run on the driver with a list of ids: the same rows on both backends, however the list
goes (padded marks on SQLite, one array on PostgreSQL), across the message table's day partitions."""

from __future__ import annotations

import time

import sqlalchemy as sa

from smsplatform.store import partitions
from smsplatform.store.database import Database
from smsplatform.store.driver import CHUNK, chunks, execute_for_ids
from smsplatform.store.schema import messages
from tests.dispatch.support import make_account, queue, run


def _moved_to_tomorrow(db: Database, message_id: int) -> int:
    """The message given an id of tomorrow's (on PostgreSQL: moved to tomorrow's partition)."""
    tomorrow = partitions.first_id_of_day(partitions.day_of(int(time.time())) + 1) + message_id % 1000
    run(
        db,
        lambda conn: conn.execute(sa.update(messages).where(messages.c.id == message_id).values(id=tomorrow)),
    )
    return tomorrow


def test_ids_of_several_days_find_their_rows(db: Database) -> None:
    account = make_account(db)
    first, _, third = queue(db, account, ["13800138000", "13800138001", "13800138002"])
    later = _moved_to_tomorrow(db, third)
    sql = f"SELECT id, mobile FROM {messages.name} WHERE account_id = ? AND id IN ({{ids}})"
    found = run(db, lambda conn: execute_for_ids(conn, sql, [first, later], account.id).all())
    assert sorted(found) == sorted([(first, "13800138000"), (later, "13800138002")])
    none = run(db, lambda conn: execute_for_ids(conn, sql, [first, later], account.id + 1).all())
    assert none == []


def test_a_list_of_strings_finds_their_rows(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001", "13800138002"])
    sql = f"SELECT id FROM {messages.name} WHERE mobile IN ({{ids}})"
    found = run(db, lambda conn: execute_for_ids(conn, sql, ["13800138002", "13800138000", "139"]).scalars())
    assert sorted(found) == [ids[0], ids[2]]


def test_an_update_by_a_full_chunk_of_ids_changes_each_row_once(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"138{n:08d}" for n in range(CHUNK + 5)])
    sql = f"UPDATE {messages.name} SET errcode = ? WHERE id IN ({{ids}}) RETURNING id"
    changed: list[int] = []
    for chunk in chunks(ids):
        changed += run(db, lambda conn, chunk=chunk: list(execute_for_ids(conn, sql, chunk, "E1").scalars()))
    assert sorted(changed) == ids
    with db.engine.connect() as conn:
        assert set(conn.execute(sa.select(messages.c.errcode)).scalars()) == {"E1"}
