"""What customers may look up without callbacks: their messages' states and the replies they received."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.store.schema import inbound, messages


@dataclass(frozen=True, slots=True)
class MessageStatus:
    id: int
    send_id: int
    account_id: int
    mobile: str
    state: str
    stat: str
    errcode: str
    segments: int
    created_at: int
    submitted_at: int | None
    done_at: int | None


@dataclass(frozen=True, slots=True)
class Reply:
    id: int
    account_id: int | None
    mobile: str
    content: str
    received_at: int


_STATUS_COLUMNS = (
    messages.c.id,
    messages.c.send_id,
    messages.c.account_id,
    messages.c.mobile,
    messages.c.state,
    messages.c.stat,
    messages.c.errcode,
    messages.c.segments,
    messages.c.created_at,
    messages.c.submitted_at,
    messages.c.done_at,
)


def _page(
    conn: sa.Connection,
    table: sa.Table,
    columns: Sequence[sa.ColumnElement[object]],
    where: list[sa.ColumnElement[bool]],
    offset: int,
    limit: int,
) -> tuple[int, list[sa.Row[Any]]]:
    total = conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    query = sa.select(*columns).where(*where).order_by(table.c.id).offset(offset).limit(limit)
    return int(total), list(conn.execute(query))


def message_statuses(
    conn: sa.Connection,
    customer_id: int,
    *,
    send_id: int | None = None,
    mobile: str | None = None,
    since: int | None = None,
    until: int | None = None,
    kept_since: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[int, list[MessageStatus]]:
    """`kept_since`: the retention's reach (store/retention.py); older messages answer as unknown ones,
    though the next round of the retention has yet to remove them."""
    where = [messages.c.customer_id == customer_id]
    if kept_since is not None:
        where.append(messages.c.created_at >= kept_since)
    if send_id is not None:
        where.append(messages.c.send_id == send_id)
    if mobile is not None:
        where.append(messages.c.mobile == mobile)
    if since is not None:
        where.append(messages.c.created_at >= since)
    if until is not None:
        where.append(messages.c.created_at < until)
    total, rows = _page(conn, messages, _STATUS_COLUMNS, where, offset, limit)
    return total, [MessageStatus(**row._mapping) for row in rows]


def replies(
    conn: sa.Connection,
    customer_id: int,
    *,
    account_id: int | None = None,
    mobile: str | None = None,
    since: int | None = None,
    until: int | None = None,
    kept_since: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[int, list[Reply]]:
    where = [inbound.c.customer_id == customer_id]
    if kept_since is not None:
        where.append(inbound.c.received_at >= kept_since)
    if account_id is not None:
        where.append(inbound.c.account_id == account_id)
    if mobile is not None:
        where.append(inbound.c.mobile == mobile)
    if since is not None:
        where.append(inbound.c.received_at >= since)
    if until is not None:
        where.append(inbound.c.received_at < until)
    columns = (inbound.c.id, inbound.c.account_id, inbound.c.mobile, inbound.c.content, inbound.c.received_at)
    total, rows = _page(conn, inbound, columns, where, offset, limit)
    return total, [Reply(**row._mapping) for row in rows]
