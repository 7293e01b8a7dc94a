"""Removing what is older than the retention: messages with their parts, submit errors and callbacks,
unmatched receipts, replies, and the sends whose messages are all gone.

Every table here is written in id order as time goes by, so "older than the cutoff" is "id below the
first id stamped at the cutoff", found by binary search (store/search.first_id_at), and rows leave from
the oldest up in chunks of at most `CHUNK` rows, one transaction each: a chunk holds the writer (and
an acceptance grouped with it) for about a tenth of a second, never for the whole purge.

On PostgreSQL the message table's whole days leave by dropping their partitions (store/partitions.py),
and the chunks only delete their parts and callbacks first and the rows of the legacy partition. The
day the cutoff falls in stays until it is wholly past: the queries hide its older rows (`kept_since`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smsplatform.store import partitions
from smsplatform.store.database import Database
from smsplatform.store.schema import (
    callback_errors,
    callbacks,
    inbound,
    message_parts,
    messages,
    sends,
    settings,
    submit_errors,
    unmatched_receipts,
)
from smsplatform.store.search import first_id_at

DAY = 86_400
CHUNK = 2_000  # rows a transaction: about 0.1 s of the writer (measured on SQLite, 2 shared cores)


@dataclass(frozen=True, slots=True)
class Reach:
    """How far back the store answers: `days` of retention (0: everything is kept), kept since the
    unix second `since` (None when everything is kept)."""

    days: int
    since: int | None

    @property
    def since_date(self) -> str | None:
        """The first day kept, `YYYY-MM-DD` in UTC."""
        if self.since is None:
            return None
        return dt.datetime.fromtimestamp(self.since, dt.UTC).date().isoformat()


def reach(days: int, now: int) -> Reach:
    return Reach(days, None if days <= 0 else now - days * DAY)


def kept_since(days: int, now: int) -> int | None:
    """The oldest acceptance time still answered for; None when everything is kept."""
    return reach(days, now).since


# The retention the rounds enforce, written by them, so that every node (the console's among them)
# can say how far back the store reaches without sharing the dispatch nodes' settings.
RETENTION_KEY = "retention_days"


def record_retention(conn: sa.Connection, days: int) -> None:
    """Written as it changes only, and not as a configuration change: no process drops its caches."""
    current = conn.execute(sa.select(settings.c.value).where(settings.c.key == RETENTION_KEY)).scalar()
    if current == str(days):
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    upsert = insert(settings).values(key=RETENTION_KEY, value=str(days))
    # Several nodes' first rounds may write it at once.
    conn.execute(upsert.on_conflict_do_update(index_elements=[settings.c.key], set_={"value": str(days)}))


def stored_reach(conn: sa.Connection, now: int) -> Reach:
    """How far back the store reaches, as the last round recorded it (everything, before any round)."""
    value = conn.execute(sa.select(settings.c.value).where(settings.c.key == RETENTION_KEY)).scalar()
    return reach(int(value) if value and value.isdigit() else 0, now)


# --- where a round stops -----------------------------------------------------------------------------


def message_boundary(conn: sa.Connection, cutoff: int) -> int:
    """The id below which messages are older than `cutoff` and are deleted row by row. On PostgreSQL
    the rows of day partitions go with their partition, so it stops at the first day's range."""
    below = first_id_at(conn, messages, messages.c.created_at, cutoff)
    if partitions.is_partitioned(conn):
        days = [p.day for p in partitions.partitions(conn) if p.day is not None]
        if days:
            below = min(below, partitions.first_id_of_day(min(days)))
    return below


def table_boundary(conn: sa.Connection, table_name: str, cutoff: int) -> int:
    """The id below which the rows of `table_name` are older than `cutoff`. A send stays while any of
    its messages does (they refer to it)."""
    table, stamp = _STAMPED[table_name]
    below = first_id_at(conn, table, stamp, cutoff)
    if table is sends:
        oldest_in_use = conn.execute(sa.select(sa.func.min(messages.c.send_id))).scalar()
        if oldest_in_use is not None:
            below = min(below, int(oldest_in_use))
    return below


_STAMPED: dict[str, tuple[sa.Table, sa.Column[Any]]] = {
    "callbacks": (callbacks, callbacks.c.created_at),
    "inbound": (inbound, inbound.c.received_at),
    "unmatched_receipts": (unmatched_receipts, unmatched_receipts.c.received_at),
    "sends": (sends, sends.c.created_at),
}

# The tables `rows_chunk` purges, in the order a round takes them (sends after the messages).
TABLES: Sequence[str] = tuple(_STAMPED)


# --- one chunk, one transaction --------------------------------------------------------------------


def _oldest_ids(
    conn: sa.Connection, table: sa.Table, below: int, limit: int, *, low: int | None = None
) -> list[int]:
    query = sa.select(table.c.id).where(table.c.id < below).order_by(table.c.id).limit(limit)
    if low is not None:
        query = query.where(table.c.id >= low)
    return [int(row_id) for row_id in conn.execute(query).scalars()]


def _delete_callbacks(conn: sa.Connection, where: sa.ColumnElement[bool]) -> None:
    doomed = sa.select(callbacks.c.id).where(where).scalar_subquery()
    conn.execute(sa.delete(callback_errors).where(callback_errors.c.callback_id.in_(doomed)))
    conn.execute(sa.delete(callbacks).where(where))


def message_dependents_chunk(conn: sa.Connection, low: int, high: int, limit: int = CHUNK) -> tuple[int, int]:
    """Deletes the parts, submit errors and callbacks of the oldest `limit` messages with ids in
    [low, high), the messages themselves staying; returns the id from which on they remain (`high` when
    none does) and how many messages that was. For a partition about to be dropped: its rows go whole,
    what refers to them goes here."""
    ids = _oldest_ids(conn, messages, high, limit, low=low)
    upto = high if len(ids) < limit else ids[-1] + 1
    _delete_dependents(conn, low, upto)
    return upto, len(ids)


def _delete_dependents(conn: sa.Connection, low: int, high: int) -> None:
    """What refers to the messages with ids in [low, high)."""
    for table in (message_parts, submit_errors):
        conn.execute(sa.delete(table).where(table.c.message_id >= low, table.c.message_id < high))
    _delete_callbacks(conn, sa.and_(callbacks.c.message_id >= low, callbacks.c.message_id < high))


def messages_chunk(conn: sa.Connection, below: int, limit: int = CHUNK) -> int:
    """Deletes the oldest messages with ids below `below`, at most `limit`, with everything that
    refers to them; returns how many messages went."""
    ids = _oldest_ids(conn, messages, below, limit)
    if not ids:
        return 0
    low, high = ids[0], ids[-1] + 1  # every message id in [low, high) is one of `ids`
    _delete_dependents(conn, low, high)
    conn.execute(sa.delete(messages).where(messages.c.id >= low, messages.c.id < high))
    return len(ids)


def rows_chunk(conn: sa.Connection, table_name: str, below: int, limit: int = CHUNK) -> int:
    """Deletes the oldest rows of `table_name` (sends, callbacks, inbound, unmatched_receipts) with ids
    below `below`, at most `limit`; returns how many went."""
    table = _STAMPED[table_name][0]
    ids = _oldest_ids(conn, table, below, limit)
    if not ids:
        return 0
    where = sa.and_(table.c.id >= ids[0], table.c.id <= ids[-1])
    if table is callbacks:
        _delete_callbacks(conn, where)
    else:
        conn.execute(sa.delete(table).where(where))
    return len(ids)


# --- a round ---------------------------------------------------------------------------------------


@dataclass
class Purged:
    """What a round removed."""

    messages: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    partitions_dropped: list[str] = field(default_factory=list)
    partitions_created: list[str] = field(default_factory=list)
    chunks: int = 0
    skipped: bool = False  # another node held the round's lock


async def purge(db: Database, days: int, now: int, *, chunk: int = CHUNK) -> Purged:
    """One round: on PostgreSQL the partitions a week ahead are made and the wholly expired days
    dropped; then everything older than `days` (0: nothing) leaves chunk by chunk through the writer.

    Several nodes may run it at once: on PostgreSQL the first takes a session advisory lock and the
    others skip the round; every step is idempotent anyway (IF EXISTS, deletes by id range)."""
    done = Purged()
    await db.write(record_retention, max(days, 0))
    if db.dialect == "postgresql":
        lock = await _round_lock(db)
        if lock is None:
            done.skipped = True
            return done
        try:
            await _keep_partitions(db, lock, days, now, done, chunk)
            await _purge_rows(db, days, now, done, chunk)
        finally:
            # Shielded: a round cancelled here (the node stopping) still gives the lock back.
            await asyncio.shield(asyncio.to_thread(_release_round_lock, lock))
        return done
    await _purge_rows(db, days, now, done, chunk)
    if done.chunks:
        await asyncio.to_thread(_checkpoint, db, "TRUNCATE")
    return done


async def _keep_partitions(
    db: Database, conn: sa.Connection, days: int, now: int, done: Purged, chunk: int
) -> None:
    if not await asyncio.to_thread(partitions.is_partitioned, conn):
        return
    done.partitions_created = await asyncio.to_thread(partitions.create_ahead, conn, partitions.day_of(now))
    if days <= 0:
        return
    for partition in await asyncio.to_thread(partitions.expired, conn, now - days * DAY):
        if partition.day is not None:
            low, high = (partitions.first_id_of_day(d) for d in (partition.day, partition.day + 1))
            while low < high:
                low, seen = await db.write(message_dependents_chunk, low, high, chunk)
                done.messages += seen
                done.chunks += 1
        await asyncio.to_thread(partitions.detach_and_drop, conn, partition)
        done.partitions_dropped.append(partition.name)


async def _purge_rows(db: Database, days: int, now: int, done: Purged, chunk: int) -> None:
    if days <= 0:
        return
    cutoff = now - days * DAY
    below = await db.read(message_boundary, cutoff)
    done.messages += await _in_chunks(db, done, chunk, messages_chunk, below, chunk)
    for name in TABLES:
        below = await db.read(table_boundary, name, cutoff)
        gone = await _in_chunks(db, done, chunk, rows_chunk, name, below, chunk)
        done.rows[name] = done.rows.get(name, 0) + gone


async def _in_chunks(
    db: Database, done: Purged, chunk: int, remove: Callable[..., int], *args: object
) -> int:
    """`remove(conn, *args)` (at most `chunk` rows a call, each its own transaction) until a call
    removes fewer; the rows removed in all."""
    removed = 0
    while True:
        gone = await db.write(remove, *args)
        removed += gone
        if gone == 0:
            return removed
        done.chunks += 1
        await _after_chunk(db)
        if gone < chunk:
            return removed


async def _after_chunk(db: Database) -> None:
    """On SQLite, the chunk's pages are copied back from the WAL before the next one is written, so
    that the writer can start the WAL over instead of growing it by a whole purge."""
    if db.dialect == "sqlite":
        await asyncio.to_thread(_checkpoint, db, "PASSIVE")


# A TRUNCATE checkpoint holds new writers while it waits for readers: never longer than this.
_TRUNCATE_WAIT_MS = 200


def _checkpoint(db: Database, mode: str) -> None:
    raw = db.read_engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        if mode == "TRUNCATE":
            driver.execute(f"PRAGMA busy_timeout={_TRUNCATE_WAIT_MS}")
        try:
            driver.execute(f"PRAGMA wal_checkpoint({mode})")
        except sqlite3.Error:
            pass  # busy: the next chunk's, or the platform's own, checkpoint will do
        finally:
            if mode == "TRUNCATE":
                driver.execute("PRAGMA busy_timeout=30000")
    finally:
        raw.close()


async def _round_lock(db: Database) -> sa.Connection | None:
    """`_take_round_lock` from asyncio: cancelled while the lock is being taken, it still releases it
    (a lock left held by a pooled connection would skip every later round of every node)."""
    taking = asyncio.ensure_future(asyncio.to_thread(_take_round_lock, db))
    try:
        return await asyncio.shield(taking)
    except asyncio.CancelledError:
        lock = await taking
        if lock is not None:
            await asyncio.to_thread(_release_round_lock, lock)
        raise


# Any constant of the platform's own: the advisory lock that one node at a time holds for a round.
_ROUND_LOCK = 0x736D7372  # "smsr"


_LOCK_WAIT_MS = 2000


def _take_round_lock(db: Database) -> sa.Connection | None:
    """An autocommit connection holding the round's lock, or None when another node holds it."""
    conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_ROUND_LOCK})").scalar():
            # Making or detaching a partition waits for the table's lock: never long enough to queue
            # the acceptances up behind it. A round that gives up tries again at the next.
            conn.exec_driver_sql(f"SET lock_timeout = {_LOCK_WAIT_MS}")
            return conn
    except BaseException:
        conn.close()
        raise
    conn.close()
    return None


def _release_round_lock(conn: sa.Connection) -> None:
    try:
        conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_ROUND_LOCK})")
    finally:
        conn.close()
