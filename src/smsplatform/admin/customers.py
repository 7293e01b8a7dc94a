"""Customers: create one (its appkey shown once), list them with the quota they shared out, top up,
disable and enable, the IP allow-list, the daily request limit and the expiry of the appkey, and
rotate the appkey (the new one shown once, the old one working through a grace period)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.admin import audit, checks
from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import customers, schema
from smsplatform.store.clock import now
from smsplatform.store.customers import Customer
from smsplatform.store.widths import width

MAX_NAME = width(schema.customers.c.name)


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    id: int
    name: str
    enabled: bool
    totalnum: int  # purchased quota
    allocated: int  # of it, shared out to the sub-accounts
    expires_at: int | None  # the appkey stops working after this second; None: never
    allow_ips: tuple[str, ...]  # caller networks the appkey works from; empty: any
    daily_request_limit: int | None  # API requests a day (code 104 beyond); None: unlimited
    created_at: int
    # The appkey before the last rotation works until then (unix seconds); None: only the current one.
    old_appkey_ends_at: int | None = None


@dataclass(frozen=True, slots=True)
class CreatedCustomer:
    """A new customer and its appkey: with RotatedAppkey, the only results that carry an appkey."""

    customer: CustomerInfo
    appkey: str


@dataclass(frozen=True, slots=True)
class RotatedAppkey:
    """A new appkey, shown this once; the old one works until `customer.old_appkey_ends_at`."""

    customer: CustomerInfo
    appkey: str


# The longest grace an old appkey may get: a rotation is for a key that must stop working.
MAX_GRACE_SECONDS = 30 * 86400


def _info(customer: Customer, allocated: int) -> CustomerInfo:
    return CustomerInfo(
        id=customer.id,
        name=customer.name,
        enabled=customer.enabled,
        totalnum=customer.totalnum,
        allocated=allocated,
        expires_at=customer.expires_at,
        allow_ips=customer.allow_ips,
        daily_request_limit=customer.daily_request_limit,
        created_at=customer.created_at,
        old_appkey_ends_at=customer.previous_appkey_until,
    )


def _load(conn: sa.Connection, customer_id: int) -> CustomerInfo:
    return _info(customers.get_customer(conn, customer_id), customers.allocated_quota(conn, customer_id))


def _record(info: CustomerInfo) -> dict[str, Any]:
    return asdict(info)


def _daily_limit(limit: int | None) -> int | None:
    return None if limit is None else checks.positive(limit, field="daily limit", maximum=checks.MAX_INT32)


def _expiry(expires_at: int | None) -> int | None:
    return None if expires_at is None else checks.positive(expires_at, field="expiry", maximum=2**62)


def create_customer(
    conn: sa.Connection,
    actor: Actor,
    name: str,
    totalnum: int,
    *,
    expires_at: int | None = None,
    allow_ips: Sequence[str] = (),
    daily_request_limit: int | None = None,
) -> CreatedCustomer:
    actor.require(Permission.MANAGE)
    created = customers.create_customer(
        conn,
        checks.text(name, field="name", limit=MAX_NAME),
        checks.positive(totalnum, field="quota"),
        expires_at=_expiry(expires_at),
        allow_ips=tuple(dict.fromkeys(checks.cidr(ip) for ip in allow_ips)),
        daily_request_limit=_daily_limit(daily_request_limit),
    )
    info = _info(created, 0)
    audit.record(conn, actor, "customer.create", f"customer {info.id}", after=_record(info))
    return CreatedCustomer(info, created.appkey)


def list_customers(conn: sa.Connection, actor: Actor) -> list[CustomerInfo]:
    actor.require(Permission.VIEW)
    return [_info(customer, allocated) for customer, allocated in customers.list_customers(conn)]


def get_customer(conn: sa.Connection, actor: Actor, customer_id: int) -> CustomerInfo:
    actor.require(Permission.VIEW)
    return _load(conn, customer_id)


def topup(conn: sa.Connection, actor: Actor, customer_id: int, amount: int) -> CustomerInfo:
    """Adds `amount` to the purchased quota."""
    actor.require(Permission.MANAGE)
    checks.positive(amount, field="amount")
    before = _load(conn, customer_id)
    if before.totalnum + amount > checks.MAX_COUNT:
        raise ValueError(f"a quota is at most {checks.MAX_COUNT}")
    customers.topup(conn, customer_id, amount)
    return audit.changed(conn, actor, "customer.topup", before, _load)


def set_enabled(conn: sa.Connection, actor: Actor, customer_id: int, enabled: bool) -> CustomerInfo:
    """A disabled customer's appkey answers 103 on every endpoint; its messages already accepted go out."""
    actor.require(Permission.MANAGE)
    before = _load(conn, customer_id)
    customers.set_enabled(conn, customer_id, enabled)
    return audit.changed(conn, actor, "customer.enable" if enabled else "customer.disable", before, _load)


def set_allow_ips(
    conn: sa.Connection, actor: Actor, customer_id: int, networks: Sequence[str]
) -> CustomerInfo:
    """The caller addresses the appkey works from (code 105 for others); none: any address."""
    actor.require(Permission.MANAGE)
    cleaned = tuple(dict.fromkeys(checks.cidr(network) for network in networks))
    before = _load(conn, customer_id)
    customers.set_allow_ips(conn, customer_id, cleaned)
    return audit.changed(conn, actor, "customer.allow_ips", before, _load)


def set_daily_limit(conn: sa.Connection, actor: Actor, customer_id: int, limit: int | None) -> CustomerInfo:
    """API requests a day for the appkey (code 104 beyond); None: unlimited."""
    actor.require(Permission.MANAGE)
    limit = _daily_limit(limit)
    before = _load(conn, customer_id)
    customers.set_daily_request_limit(conn, customer_id, limit)
    return audit.changed(conn, actor, "customer.daily_limit", before, _load)


def set_expiry(conn: sa.Connection, actor: Actor, customer_id: int, expires_at: int | None) -> CustomerInfo:
    """The last second the appkey works (code 102 after it); None: it never expires."""
    actor.require(Permission.MANAGE)
    expires_at = _expiry(expires_at)
    before = _load(conn, customer_id)
    customers.set_expires_at(conn, customer_id, expires_at)
    return audit.changed(conn, actor, "customer.expiry", before, _load)


def _grace(seconds: int) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise ValueError(f"grace must be whole seconds, got {seconds!r}")
    if not 0 <= seconds <= MAX_GRACE_SECONDS:
        raise ValueError(f"grace must be between 0 and {MAX_GRACE_SECONDS} seconds, got {seconds}")
    return seconds


def rotate_appkey(
    conn: sa.Connection, actor: Actor, customer_id: int, grace_seconds: int = customers.DEFAULT_ROTATION_GRACE
) -> RotatedAppkey:
    """Issues the customer a new appkey (in this answer only). The old one keeps working for
    `grace_seconds` (0: it answers 101 at once) while the customer switches; an older one still in a
    grace stops now. Callbacks are signed with the new one, and with the old one too while it works."""
    actor.require(Permission.MANAGE)
    grace = _grace(grace_seconds)
    before = _load(conn, customer_id)
    rotated = customers.rotate_appkey(conn, customer_id, grace_seconds=grace, at=now())
    after = _load(conn, customer_id)
    audit.record(
        conn,
        actor,
        "customer.rotate_key",
        f"customer {customer_id}",
        before=_record(before),
        after={**_record(after), "grace_seconds": grace},
    )
    return RotatedAppkey(after, rotated.appkey)
