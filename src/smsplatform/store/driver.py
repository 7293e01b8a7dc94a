"""Hot-path statements that go straight to the database driver, and IN lists cut to a safe size.

SQLAlchemy's per-row parameter handling and its rendering of an expanding IN list for every execution
cost more than the database's own work on a batch of rows, so the outbox's hottest statements are
written as SQL with `?` marks and run on the driver.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")

CHUNK = 900  # values per IN list: under every backend's bound-parameter limit


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Slices of `items` that each fit one IN list."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def driver_sql(conn: sa.Connection, sql: str) -> str:
    """`sql`, written with `?` marks, in the driver's own parameter style."""
    return sql if conn.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def execute_for_ids(
    conn: sa.Connection, sql: str, ids: Sequence[Any], *params: Any
) -> sa.CursorResult[*tuple[Any, ...]]:
    """Run `sql`, written with `?` marks and one `column IN ({ids})` list, on the driver: `params` fill
    the marks before the list, `ids` (at most CHUNK of them, all integers or all strings) the list.

    On SQLite the list is padded with NULLs (which match nothing) to one of a few lengths: preparing
    a statement of hundreds of marks costs SQLite more than running it, and the driver keeps prepared
    statements only for the texts it sees again. On PostgreSQL the ids go as one array, `column =
    ANY(?)`: binding one array costs both ends a fraction of hundreds of parameters, and the text is
    the same for every length. Integer ids are bounded by their smallest and largest as well, which
    lets a prepared statement on the partitioned message table skip the other days' partitions
    (PostgreSQL prunes by a range of parameters, not by the elements of an array parameter). Arrays
    go in the binary format (`%b`) here and in every array statement of the store: psycopg writes a
    text array in Python, element by element, many times slower.
    """
    if conn.dialect.name == "postgresql":
        whole = isinstance(ids[0], int)
        statement = _with_id_array(sql, whole)
        bounds = (min(ids), max(ids)) if whole else ()
        return conn.exec_driver_sql(statement, (*params, list(ids), *bounds))
    size = _padded_length(len(ids))
    statement = driver_sql(conn, _with_id_list(sql, size))
    return conn.exec_driver_sql(statement, (*params, *ids, *([None] * (size - len(ids)))))


def _padded_length(count: int) -> int:
    """Powers of two up to 64, then multiples of 64: a few lengths, little padding."""
    return 1 << (count - 1).bit_length() if count <= 64 else -(-count // 64) * 64


@functools.lru_cache(maxsize=256)
def _with_id_list(sql: str, size: int) -> str:
    return sql.replace("{ids}", ", ".join(["?"] * size))


_ID_LIST = re.compile(r"([\w.]+) IN \(\{ids\}\)")


@functools.lru_cache(maxsize=256)
def _with_id_array(sql: str, whole: bool) -> str:
    """`sql` for PostgreSQL, its `column IN ({ids})` an array parameter (and a range, for integers).
    The list must be the statement's last mark: the array and the bounds follow the other parameters."""
    found = _ID_LIST.search(sql)
    if found is None or "?" in sql[found.end() :]:
        raise ValueError(f"no `column IN ({{ids}})` as the last parameter of: {sql}")
    column = found.group(1)
    if whole:
        term = f"{column} = ANY(%b::bigint[]) AND {column} BETWEEN %s AND %s"
    else:
        term = f"{column} = ANY(%b::text[])"
    return sql[: found.start()].replace("?", "%s") + term + sql[found.end() :]


# SQLite: rows go in by multi-row INSERTs of a few sizes (powers of two up to this). Each statement is
# one step of the database, where an executemany is one per row, and every step lets go of the GIL
# and must win it back from the busy event loop: with one step per row, the writer spent most of a
# group commit waiting for the GIL, holding the database's write lock all the while. The few sizes
# keep the driver's prepared statements reused. (256 rows of up to 12 columns: far under SQLite's
# 32,766 parameters.)
_MAX_ROWS_PER_INSERT = 256


@functools.lru_cache(maxsize=64)
def _multi_row_insert(table: str, columns: tuple[str, ...], rows: int) -> str:
    row = "(" + ", ".join(["?"] * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * rows)}"


def insert_rows(
    conn: sa.Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]
) -> None:
    """`rows` inserted into `table` on SQLite, in order, by as few multi-row statements as the sizes allow."""
    start = 0
    while start < len(rows):
        size = min(_MAX_ROWS_PER_INSERT, 1 << ((len(rows) - start).bit_length() - 1))
        values = [value for row in rows[start : start + size] for value in row]
        conn.exec_driver_sql(_multi_row_insert(table, columns, size), tuple(values))
        start += size
