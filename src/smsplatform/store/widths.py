"""How many characters a text column keeps, read from the schema.

The API, the console and the CLI refuse text longer than the column it goes to. They take the limit
from here rather than repeat the number, so that widening a column in `schema` widens every check of
it, and no check lets through what PostgreSQL would then refuse (SQLite does not enforce widths).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def width(*columns: sa.Column[Any]) -> int:
    """The most characters every one of `columns` keeps: the narrowest of their `String(N)` widths."""
    if not columns:
        raise TypeError("width() needs at least one column")
    lengths = []
    for column in columns:
        length = getattr(column.type, "length", None)
        if not isinstance(length, int):
            raise TypeError(f"{column.table.name}.{column.name} has no width: {column.type!r}")
        lengths.append(length)
    return min(lengths)
