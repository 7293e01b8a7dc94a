"""Hot-path statements that go straight to the database driver, and IN lists cut to a safe size.

SQLAlchemy's per-row parameter handling and its rendering of an expanding IN list for every execution
cost more than the database's own work on a batch of rows, so the outbox's hottest statements are
written as SQL with `?` marks and run on the driver.
"""

from __future__ import annotations

import functools
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
    """Run `sql`, written with `?` marks and one `IN ({ids})` list, on the driver: `params` fill the
    marks before the list, `ids` (at most CHUNK of them) the list.

    The list is padded with NULLs (which match nothing) to one of a few lengths: preparing a statement
    of hundreds of marks costs SQLite more than running it, and the driver keeps prepared statements
    only for the texts it sees again.
    """
    size = _padded_length(len(ids))
    statement = driver_sql(conn, _with_id_list(sql, size))
    return conn.exec_driver_sql(statement, (*params, *ids, *([None] * (size - len(ids)))))


def _padded_length(count: int) -> int:
    """Powers of two up to 64, then multiples of 64: a few lengths, little padding."""
    return 1 << (count - 1).bit_length() if count <= 64 else -(-count // 64) * 64


@functools.lru_cache(maxsize=256)
def _with_id_list(sql: str, size: int) -> str:
    return sql.replace("{ids}", ", ".join(["?"] * size))
