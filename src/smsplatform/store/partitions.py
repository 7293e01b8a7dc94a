"""The PostgreSQL message table's day partitions.

On PostgreSQL `messages` is partitioned BY RANGE (id), and a message id carries the UTC day it was
accepted on: `id = day << 32 | sequence` (the column's default, `messages_next_id()`, migration 0014).
So a day's messages are one id range and one partition, every statement that names message ids
(results, receipts, leases, callbacks) touches one partition, and retention drops a whole day at once
instead of deleting its rows one by one. Customers never see these ids: their msgid is `sends.id`.

Partitions are created a week ahead by the platform (the retention task, at every round); the rows
stored before the table was partitioned sit in `messages_legacy`, below the first day's range.
SQLite keeps plain dense rowids and has no partitions: nothing here applies to it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa

DAY = 86_400
DAY_BITS = 32
DAYS_AHEAD = 7
LEGACY = "messages_legacy"

_NAME = re.compile(r"^messages_p(\d{8})$")


def day_of(ts: int) -> int:
    """Days since the epoch, UTC, of unix second `ts`."""
    return ts // DAY


def first_id_of_day(day: int) -> int:
    """The smallest message id a message accepted on `day` (days since the epoch) can have."""
    return day << DAY_BITS


def partition_name(day: int) -> str:
    return "messages_p" + (dt.date(1970, 1, 1) + dt.timedelta(days=day)).strftime("%Y%m%d")


def day_of_partition(name: str) -> int | None:
    """The day a partition named by `partition_name` holds; None for any other table."""
    found = _NAME.match(name)
    if found is None:
        return None
    return (dt.datetime.strptime(found.group(1), "%Y%m%d").date() - dt.date(1970, 1, 1)).days


def is_partition_name(name: str) -> bool:
    return name == LEGACY or _NAME.match(name) is not None


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    day: int | None  # None: the legacy partition, rows from before the table was partitioned
    detach_pending: bool  # a concurrent detach was interrupted: it must be finalized before the drop


def is_partitioned(conn: sa.Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.exec_driver_sql(
        "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('messages')"
    ).scalar()
    return kind == "p"


def partitions(conn: sa.Connection) -> list[Partition]:
    """The message table's partitions, oldest day first (the legacy one before every day)."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname, i.inhdetachpending FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass('messages')"
    ).all()
    found = [Partition(str(name), day_of_partition(str(name)), bool(pending)) for name, pending in rows]
    return sorted(found, key=lambda p: -1 if p.day is None else p.day)


def create_ahead(conn: sa.Connection, today: int, days_ahead: int = DAYS_AHEAD) -> list[str]:
    """Creates the partitions of `today` and the `days_ahead` days after it that do not exist yet;
    returns their names. Safe beside another node doing the same (IF NOT EXISTS)."""
    existing = {p.day for p in partitions(conn)}
    created: list[str] = []
    for day in range(today, today + days_ahead + 1):
        if day in existing:
            continue
        name = partition_name(day)
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF messages "
            f"FOR VALUES FROM ({first_id_of_day(day)}) TO ({first_id_of_day(day + 1)})"
        )
        name_indexes_after_parent(conn, name)
        created.append(name)
    return created


def name_indexes_after_parent(conn: sa.Connection, partition: str) -> None:
    """Renames the partition's indexes after the table's (`ix_messages_queued` → `ix_messages_queued_
    20261207`): PostgreSQL names them after their columns, and a plan should say which index it reads."""
    suffix = partition.removeprefix("messages_").removeprefix("p")
    pairs = conn.exec_driver_sql(
        "SELECT child.relname, parent.relname FROM pg_index x "
        "JOIN pg_class child ON child.oid = x.indexrelid "
        "JOIN pg_inherits i ON i.inhrelid = x.indexrelid "
        "JOIN pg_class parent ON parent.oid = i.inhparent "
        "WHERE x.indrelid = to_regclass(%(table)s)",
        {"table": partition},
    ).all()
    for child, parent in pairs:
        wanted = f"{parent}_{suffix}"
        if child != wanted:
            conn.exec_driver_sql(f'ALTER INDEX "{child}" RENAME TO "{wanted}"')


def expired(conn: sa.Connection, cutoff: int) -> list[Partition]:
    """The day partitions whose whole day lies before unix second `cutoff`."""
    return [p for p in partitions(conn) if p.day is not None and (p.day + 1) * DAY <= cutoff]


def detach_and_drop(conn: sa.Connection, partition: Partition) -> None:
    """Detaches `partition` without blocking the table (CONCURRENTLY: the acceptances and claims of
    other days go on) and drops it. `conn` must be in autocommit: a concurrent detach runs in no
    transaction. A detach another node already finished, or a table already dropped, is no error."""
    name = partition.name
    if partition.detach_pending:
        conn.exec_driver_sql(f"ALTER TABLE messages DETACH PARTITION {name} FINALIZE")
    else:
        try:
            conn.exec_driver_sql(f"ALTER TABLE messages DETACH PARTITION {name} CONCURRENTLY")
        except sa.exc.DBAPIError as exc:
            still = {p.name for p in partitions(conn)}
            if name in still:
                raise
            del exc  # another node detached it first
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")


def oldest_live_id(conn: sa.Connection, today: int) -> int:
    """An id below every message that is queued or being submitted: the first id of the oldest
    partition holding one, and never above yesterday's first (a transaction open across midnight may
    still add rows of yesterday). Only such a message can become claimable: a new one gets a newer
    id, and a message leaves `submitting` only for a final state or back to `queued`.

    One probe per partition, oldest first, each an index lookup; the claim bounds its ids by this, so
    PostgreSQL plans and scans the live days' partitions only, not the whole retention's."""
    floor = first_id_of_day(today - 1)
    for partition in partitions(conn):
        if partition.day is not None and first_id_of_day(partition.day) >= floor:
            break
        live = conn.exec_driver_sql(
            f"SELECT 1 FROM {partition.name} WHERE state = 'queued' "
            f"UNION ALL SELECT 1 FROM {partition.name} WHERE state = 'submitting' LIMIT 1"
        ).first()
        if live is not None:
            return 0 if partition.day is None else first_id_of_day(partition.day)
    return floor
