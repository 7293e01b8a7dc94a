"""Sub-accounts: one signature each, a share of the customer's quota, their own callback URLs.

The reply password (HTTP Basic auth on reply callbacks) is sealed in the database (store/secrets.py);
an Account carries it in plain, for the callbacks and for the customer's own account list.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.customers import allocated_quota, get_customer
from smsplatform.store.errors import InvalidState, NotFound, QuotaExceeded, SignatureTaken, TotalBelowUsed
from smsplatform.store.schema import accounts, customers
from smsplatform.store.secrets import REPLY_PASSWORD, SecretBox, box_for
from smsplatform.store.settings import bump_config_version


class AccountStatus(IntEnum):
    PENDING = 0
    APPROVED = 1
    REJECTED = 2
    DISABLED = 3


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    customer_id: int
    company: str
    signature: str
    statusurl: str
    replyurl: str
    replyusername: str
    replypassword: str
    totalnum: int
    usednum: int
    status: int
    istemnocheck: int
    failreason: str
    extension: str
    freq_limits: Mapping[str, str]
    addtime: int
    # Seconds a message of each kind may wait to be submitted, where the operator overrides the platform's.
    max_age: Mapping[str, int] = field(default_factory=dict)


EDITABLE = ("company", "signature", "statusurl", "replyurl", "replyusername", "replypassword", "totalnum")


def _from_row(box: SecretBox, row: sa.Row[tuple[object, ...]]) -> Account:
    m = dict(row._mapping)
    m["freq_limits"] = json.loads(m["freq_limits"] or "{}")
    m["max_age"] = json.loads(m.get("max_age") or "{}")
    sealed = m.pop("replypassword_sealed", None)
    if sealed:
        m["replypassword"] = box.open(sealed, REPLY_PASSWORD)
    return Account(**m)


def _sealed(conn: sa.Connection, values: dict[str, object]) -> dict[str, object]:
    """`values` with the reply password, if among them, sealed and its plain column emptied."""
    if "replypassword" not in values:
        return values
    password = str(values["replypassword"] or "")
    sealed = box_for(conn).seal_optional(password, REPLY_PASSWORD)
    return {**values, "replypassword": "", "replypassword_sealed": sealed}


def _signature_taken(conn: sa.Connection, signature: str, excluding: int | None = None) -> bool:
    query = sa.select(accounts.c.id).where(accounts.c.signature == signature)
    if excluding is not None:
        query = query.where(accounts.c.id != excluding)
    return conn.execute(query).first() is not None


def extension_for(account_id: int) -> str:
    """The extension code (扩展码) of a sub-account: its id, at least four digits."""
    return f"{account_id:04d}"


def create_account(
    conn: sa.Connection, customer_id: int, fields: Mapping[str, object], *, approve: bool
) -> Account:
    signature = str(fields["signature"])
    totalnum = int(str(fields["totalnum"]))
    if _signature_taken(conn, signature):
        raise SignatureTaken(signature)
    customer = get_customer(conn, customer_id)
    if allocated_quota(conn, customer_id) + totalnum > customer.totalnum:
        raise QuotaExceeded(f"{totalnum} exceeds the unallocated quota")
    values = {k: fields.get(k, "") for k in EDITABLE}
    values["totalnum"] = totalnum
    try:
        new_id = conn.execute(
            sa.insert(accounts).values(
                customer_id=customer_id,
                status=AccountStatus.APPROVED if approve else AccountStatus.PENDING,
                extension=uuid.uuid4().hex[:12],  # unique placeholder until the id is known
                addtime=now(),
                **_sealed(conn, values),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    except sa.exc.IntegrityError as exc:  # a concurrent insert of the same signature
        raise SignatureTaken(signature) from exc
    conn.execute(sa.update(accounts).where(accounts.c.id == new_id).values(extension=extension_for(new_id)))
    bump_config_version(conn)
    return get_account(conn, new_id)


def get_account(conn: sa.Connection, account_id: int, *, customer_id: int | None = None) -> Account:
    query = sa.select(accounts).where(accounts.c.id == account_id)
    if customer_id is not None:
        query = query.where(accounts.c.customer_id == customer_id)
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"account {account_id}")
    return _from_row(box_for(conn), row)


def update_account(
    conn: sa.Connection, customer_id: int, account_id: int, changes: Mapping[str, object], *, approve: bool
) -> Account:
    current = get_account(conn, account_id, customer_id=customer_id)
    values: dict[str, object] = {k: v for k, v in changes.items() if k in EDITABLE}
    if "signature" in values and values["signature"] != current.signature:
        if _signature_taken(conn, str(values["signature"]), excluding=account_id):
            raise SignatureTaken(str(values["signature"]))
        # A new signature is a new review, unless the platform approves automatically.
        if current.status in (AccountStatus.PENDING, AccountStatus.APPROVED, AccountStatus.REJECTED):
            values["status"] = AccountStatus.APPROVED if approve else AccountStatus.PENDING
            values["failreason"] = ""
    if "totalnum" in values:
        totalnum = int(str(values["totalnum"]))
        values["totalnum"] = totalnum
        if totalnum < current.usednum:
            raise TotalBelowUsed(f"{totalnum} < {current.usednum}")
        customer = get_customer(conn, customer_id)
        if allocated_quota(conn, customer_id, excluding_account=account_id) + totalnum > customer.totalnum:
            raise QuotaExceeded(f"{totalnum} exceeds the unallocated quota")
    if values:
        try:
            conn.execute(
                sa.update(accounts).where(accounts.c.id == account_id).values(**_sealed(conn, values))
            )
        except sa.exc.IntegrityError as exc:
            raise SignatureTaken(str(values.get("signature"))) from exc
        bump_config_version(conn)
    return get_account(conn, account_id)


def list_accounts(
    conn: sa.Connection,
    customer_id: int | None = None,
    *,
    status: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[Account]]:
    """A page of sub-accounts (of one customer, or all for the operator) and the total count."""
    where = []
    if customer_id is not None:
        where.append(accounts.c.customer_id == customer_id)
    if status is not None:
        where.append(accounts.c.status == status)
    total = conn.execute(sa.select(sa.func.count()).select_from(accounts).where(*where)).scalar_one()
    query = sa.select(accounts).where(*where).order_by(accounts.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    box = box_for(conn)
    return int(total), [_from_row(box, row) for row in conn.execute(query)]


def review_account(conn: sa.Connection, account_id: int, *, approve: bool, reason: str = "") -> Account:
    current = get_account(conn, account_id)
    if current.status == AccountStatus.DISABLED:
        raise InvalidState(f"account {account_id} is disabled")
    status = AccountStatus.APPROVED if approve else AccountStatus.REJECTED
    conn.execute(
        sa.update(accounts)
        .where(accounts.c.id == account_id)
        .values(status=status, failreason="" if approve else reason)
    )
    bump_config_version(conn)
    return get_account(conn, account_id)


def disable_account(conn: sa.Connection, account_id: int) -> Account:
    return _set(conn, account_id, status=AccountStatus.DISABLED)


def enable_account(conn: sa.Connection, account_id: int) -> Account:
    """A disabled sub-account sends again, as approved: the operator who enables it vouches for it."""
    if get_account(conn, account_id).status != AccountStatus.DISABLED:
        raise InvalidState(f"account {account_id} is not disabled")
    return _set(conn, account_id, status=AccountStatus.APPROVED, failreason="")


@dataclass(frozen=True, slots=True)
class AccountOwner:
    signature: str
    customer_id: int
    customer_name: str


def owners(conn: sa.Connection, account_ids: Iterable[int]) -> dict[int, AccountOwner]:
    """Each sub-account's signature and customer, for lists of templates that show them."""
    wanted = sorted(set(account_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(accounts.c.id, accounts.c.signature, accounts.c.customer_id, customers.c.name)
        .join(customers, customers.c.id == accounts.c.customer_id)
        .where(accounts.c.id.in_(wanted))
    )
    return {row.id: AccountOwner(row.signature, row.customer_id, row.name) for row in rows}


def set_template_exempt(conn: sa.Connection, account_id: int, exempt: bool = True) -> Account:
    return _set(conn, account_id, istemnocheck=1 if exempt else 0)


def set_frequency_limits(conn: sa.Connection, account_id: int, limits: Mapping[str, str]) -> Account:
    return _set(conn, account_id, freq_limits=json.dumps(dict(limits), sort_keys=True))


def set_max_age(conn: sa.Connection, account_id: int, max_age: Mapping[str, int]) -> Account:
    """The seconds a message of each kind named may wait to be submitted; other kinds: the platform's."""
    return _set(conn, account_id, max_age=json.dumps(dict(max_age), sort_keys=True))


def _set(conn: sa.Connection, account_id: int, **values: object) -> Account:
    if not conn.execute(sa.update(accounts).where(accounts.c.id == account_id).values(**values)).rowcount:
        raise NotFound(f"account {account_id}")
    bump_config_version(conn)
    return get_account(conn, account_id)
