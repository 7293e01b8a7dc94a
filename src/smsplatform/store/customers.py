"""Customers: the holders of an appkey and of the purchased quota their sub-accounts share."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.errors import NotFound
from smsplatform.store.schema import accounts, customers
from smsplatform.store.settings import bump_config_version


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    appkey: str
    totalnum: int
    expires_at: int | None
    enabled: bool
    allow_ips: tuple[str, ...]
    daily_request_limit: int | None
    created_at: int


def _from_row(row: sa.Row[tuple[object, ...]]) -> Customer:
    m = row._mapping
    return Customer(
        id=m["id"],
        name=m["name"],
        appkey=m["appkey"],
        totalnum=m["totalnum"],
        expires_at=m["expires_at"],
        enabled=bool(m["enabled"]),
        allow_ips=tuple(ip for ip in m["allow_ips"].split(",") if ip),
        daily_request_limit=m["daily_request_limit"],
        created_at=m["created_at"],
    )


def create_customer(
    conn: sa.Connection,
    name: str,
    totalnum: int,
    *,
    expires_at: int | None = None,
    allow_ips: tuple[str, ...] = (),
    daily_request_limit: int | None = None,
) -> Customer:
    appkey = secrets.token_hex(16)
    new_id = conn.execute(
        sa.insert(customers).values(
            name=name,
            appkey=appkey,
            totalnum=totalnum,
            expires_at=expires_at,
            allow_ips=",".join(allow_ips),
            daily_request_limit=daily_request_limit,
            created_at=now(),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    bump_config_version(conn)
    return get_customer(conn, new_id)


def get_customer(conn: sa.Connection, customer_id: int) -> Customer:
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"customer {customer_id}")
    return _from_row(row)


def get_customer_by_appkey(conn: sa.Connection, appkey: str) -> Customer | None:
    row = conn.execute(sa.select(customers).where(customers.c.appkey == appkey)).first()
    return None if row is None else _from_row(row)


def list_customers(conn: sa.Connection) -> list[tuple[Customer, int]]:
    """Every customer with the quota already allocated to its sub-accounts."""
    allocated = (
        sa.select(sa.func.coalesce(sa.func.sum(accounts.c.totalnum), 0))
        .where(accounts.c.customer_id == customers.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(sa.select(customers, allocated.label("allocated")).order_by(customers.c.id))
    return [(_from_row(row), int(row._mapping["allocated"])) for row in rows]


def allocated_quota(conn: sa.Connection, customer_id: int, *, excluding_account: int | None = None) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(accounts.c.totalnum), 0)).where(
        accounts.c.customer_id == customer_id
    )
    if excluding_account is not None:
        query = query.where(accounts.c.id != excluding_account)
    return int(conn.execute(query).scalar_one())


def topup(conn: sa.Connection, customer_id: int, amount: int) -> Customer:
    updated = conn.execute(
        sa.update(customers)
        .where(customers.c.id == customer_id)
        .values(totalnum=customers.c.totalnum + amount)
    ).rowcount
    if not updated:
        raise NotFound(f"customer {customer_id}")
    bump_config_version(conn)
    return get_customer(conn, customer_id)


def set_enabled(conn: sa.Connection, customer_id: int, enabled: bool) -> Customer:
    updated = conn.execute(
        sa.update(customers).where(customers.c.id == customer_id).values(enabled=enabled)
    ).rowcount
    if not updated:
        raise NotFound(f"customer {customer_id}")
    bump_config_version(conn)
    return get_customer(conn, customer_id)


def set_allow_ips(conn: sa.Connection, customer_id: int, allow_ips: tuple[str, ...]) -> Customer:
    """The caller addresses (CIDR blocks) the appkey works from; empty: any."""
    return _set(conn, customer_id, allow_ips=",".join(allow_ips))


def set_daily_request_limit(conn: sa.Connection, customer_id: int, limit: int | None) -> Customer:
    return _set(conn, customer_id, daily_request_limit=limit)


def set_expires_at(conn: sa.Connection, customer_id: int, expires_at: int | None) -> Customer:
    return _set(conn, customer_id, expires_at=expires_at)


def customer_names(conn: sa.Connection, customer_ids: Iterable[int]) -> dict[int, str]:
    """The names of `customer_ids` (those that exist), for lists that show names beside ids."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(customers.c.id, customers.c.name).where(customers.c.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def _set(conn: sa.Connection, customer_id: int, **values: object) -> Customer:
    if not conn.execute(sa.update(customers).where(customers.c.id == customer_id).values(**values)).rowcount:
        raise NotFound(f"customer {customer_id}")
    bump_config_version(conn)
    return get_customer(conn, customer_id)
