"""Customers: the holders of an appkey and of the purchased quota their sub-accounts share.

An appkey is kept as its keyed hash (to find the customer) and sealed (it signs the callbacks); its plain
value leaves this module only when it is made: by `create_customer` and `rotate_appkey`.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.errors import NotFound
from smsplatform.store.schema import accounts, customers
from smsplatform.store.secrets import APPKEY, box_for
from smsplatform.store.settings import bump_config_version

# How long an old appkey keeps working after a rotation, unless the operator says otherwise.
DEFAULT_ROTATION_GRACE = 24 * 3600


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    # In plain only on the Customer that create_customer and rotate_appkey return (shown once); "" else.
    appkey: str
    totalnum: int
    expires_at: int | None
    enabled: bool
    allow_ips: tuple[str, ...]
    daily_request_limit: int | None
    created_at: int
    # The appkey before the last rotation works until then (unix seconds); None: no old key works.
    previous_appkey_until: int | None = None


def _from_row(row: sa.Row[tuple[object, ...]], appkey: str = "") -> Customer:
    m = row._mapping
    return Customer(
        id=m["id"],
        name=m["name"],
        appkey=appkey,
        totalnum=m["totalnum"],
        expires_at=m["expires_at"],
        enabled=bool(m["enabled"]),
        allow_ips=tuple(ip for ip in m["allow_ips"].split(",") if ip),
        daily_request_limit=m["daily_request_limit"],
        created_at=m["created_at"],
        previous_appkey_until=m["previous_appkey_until"],
    )


def new_appkey() -> str:
    return secrets.token_hex(16)


def create_customer(
    conn: sa.Connection,
    name: str,
    totalnum: int,
    *,
    expires_at: int | None = None,
    allow_ips: tuple[str, ...] = (),
    daily_request_limit: int | None = None,
) -> Customer:
    appkey = new_appkey()
    box = box_for(conn)
    new_id = conn.execute(
        sa.insert(customers).values(
            name=name,
            appkey_hash=box.lookup_hash(appkey),
            appkey_sealed=box.seal(appkey, APPKEY),
            totalnum=totalnum,
            expires_at=expires_at,
            allow_ips=",".join(allow_ips),
            daily_request_limit=daily_request_limit,
            created_at=now(),
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    bump_config_version(conn)
    return _with_appkey(get_customer(conn, new_id), appkey)


def _with_appkey(customer: Customer, appkey: str) -> Customer:
    return dataclasses.replace(customer, appkey=appkey)


def rotate_appkey(conn: sa.Connection, customer_id: int, *, grace_seconds: int, at: int) -> Customer:
    """Gives the customer a new appkey (returned in plain, this once). The current one keeps working
    for `grace_seconds` after `at` (0: it stops at once); an older one still in its grace stops now."""
    current = conn.execute(
        sa.select(customers.c.appkey_hash, customers.c.appkey_sealed).where(customers.c.id == customer_id)
    ).first()
    if current is None:
        raise NotFound(f"customer {customer_id}")
    appkey = new_appkey()
    box = box_for(conn)
    keep_old = grace_seconds > 0
    conn.execute(
        sa.update(customers)
        .where(customers.c.id == customer_id)
        .values(
            appkey_hash=box.lookup_hash(appkey),
            appkey_sealed=box.seal(appkey, APPKEY),
            previous_appkey_hash=current.appkey_hash if keep_old else None,
            previous_appkey_sealed=current.appkey_sealed if keep_old else None,
            previous_appkey_until=at + grace_seconds if keep_old else None,
        )
    )
    bump_config_version(conn)
    return _with_appkey(get_customer(conn, customer_id), appkey)


def get_customer(conn: sa.Connection, customer_id: int) -> Customer:
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    if row is None:
        raise NotFound(f"customer {customer_id}")
    return _from_row(row)


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """The customer an appkey belongs to, and until when the appkey works (None: while it is current;
    else the end of its grace after a rotation)."""

    customer: Customer
    works_until: int | None


def find_by_appkey_hash(conn: sa.Connection, appkey_hash: str, *, at: int) -> KeyHolder | None:
    """The customer whose current appkey, or old one still in its grace at `at`, has this keyed hash."""
    row = conn.execute(sa.select(customers).where(customers.c.appkey_hash == appkey_hash)).first()
    if row is not None:
        return KeyHolder(_from_row(row), None)
    row = conn.execute(
        sa.select(customers).where(
            customers.c.previous_appkey_hash == appkey_hash, customers.c.previous_appkey_until > at
        )
    ).first()
    if row is None:
        return None
    return KeyHolder(_from_row(row), int(row._mapping["previous_appkey_until"]))


def get_customer_by_appkey(conn: sa.Connection, appkey: str, *, at: int | None = None) -> Customer | None:
    """The customer this appkey works for at `at` (now by default)."""
    found = find_by_appkey_hash(conn, box_for(conn).lookup_hash(appkey), at=now() if at is None else at)
    return None if found is None else found.customer


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
