"""Sub-accounts: list them with their customer's name, review, enable and disable, exempt from
templates, and override the frequency limits and the maximum age of one kind of message."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import audit, decisions
from smsplatform.admin.actors import Actor, Permission
from smsplatform.domain.expiry import MAX_SECONDS
from smsplatform.domain.frequency import parse_limits
from smsplatform.domain.templates import TemplateKind
from smsplatform.store import accounts, customers
from smsplatform.store.accounts import Account, AccountStatus
from smsplatform.store.errors import InvalidState

STATUS_NAMES = decisions.status_names(AccountStatus)
MAX_REASON = decisions.MAX_REASON


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    customer_id: int
    customer_name: str
    company: str
    signature: str
    status: str  # pending, approved, rejected, disabled
    failreason: str  # why it was rejected
    totalnum: int
    usednum: int
    template_exempt: bool  # sends without templates (istemnocheck)
    extension: str  # appended to a connector's source number; replies to it find the sub-account
    statusurl: str
    replyurl: str
    replyusername: str
    replypassword: str  # masked
    freq_limits: dict[str, str]  # the operator's overrides by kind, "count/seconds,…"
    max_age: dict[str, int]  # the operator's overrides by kind: seconds a message may wait to be submitted
    created_at: int


def status_value(name: str) -> int:
    """The stored status of a status name (`pending`, …): what faces filter by."""
    return decisions.status_value(name, STATUS_NAMES)


def info(account: Account, customer_name: str) -> AccountInfo:
    return AccountInfo(
        id=account.id,
        customer_id=account.customer_id,
        customer_name=customer_name,
        company=account.company,
        signature=account.signature,
        status=STATUS_NAMES.get(AccountStatus(account.status), str(account.status)),
        failreason=account.failreason,
        totalnum=account.totalnum,
        usednum=account.usednum,
        template_exempt=bool(account.istemnocheck),
        extension=account.extension,
        statusurl=account.statusurl,
        replyurl=account.replyurl,
        replyusername=account.replyusername,
        replypassword=audit.MASK if account.replypassword else "",
        freq_limits=dict(account.freq_limits),
        max_age=dict(account.max_age),
        created_at=account.addtime,
    )


def load(conn: sa.Connection, account_id: int) -> AccountInfo:
    account = accounts.get_account(conn, account_id)
    return info(account, customers.customer_names(conn, [account.customer_id]).get(account.customer_id, ""))


def list_accounts(
    conn: sa.Connection,
    actor: Actor,
    *,
    status: str | None = None,
    customer_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[AccountInfo]:
    """Sub-accounts in id order, of every customer or one, in every status or one."""
    actor.require(Permission.VIEW)
    wanted = None if status is None else status_value(status)
    _, found = accounts.list_accounts(conn, customer_id, status=wanted, offset=offset, limit=limit)
    names = customers.customer_names(conn, (a.customer_id for a in found))
    return [info(a, names.get(a.customer_id, "")) for a in found]


def get_account(conn: sa.Connection, actor: Actor, account_id: int) -> AccountInfo:
    actor.require(Permission.VIEW)
    return load(conn, account_id)


def approve_account(conn: sa.Connection, actor: Actor, account_id: int) -> AccountInfo:
    return decisions.approve(conn, actor, "account", account_id, load, accounts.review_account)


def reject_account(conn: sa.Connection, actor: Actor, account_id: int, reason: str) -> AccountInfo:
    """The sub-account answers 226 until approved; `reason` is what the customer reads (failreason)."""
    return decisions.reject(conn, actor, "account", account_id, reason, load, accounts.review_account)


def disable_account(conn: sa.Connection, actor: Actor, account_id: int) -> AccountInfo:
    """A disabled sub-account answers 238 on send; its messages already accepted go out."""
    actor.require(Permission.MANAGE)
    before = load(conn, account_id)
    if before.status == "disabled":
        raise InvalidState(f"account {account_id} is already disabled")
    accounts.disable_account(conn, account_id)
    return _changed(conn, actor, "account.disable", before)


def enable_account(conn: sa.Connection, actor: Actor, account_id: int) -> AccountInfo:
    """A disabled sub-account sends again, as approved."""
    actor.require(Permission.MANAGE)
    before = load(conn, account_id)
    accounts.enable_account(conn, account_id)
    return _changed(conn, actor, "account.enable", before)


def set_template_exempt(conn: sa.Connection, actor: Actor, account_id: int, exempt: bool) -> AccountInfo:
    """An exempt sub-account sends any text (still signed, still filtered for sensitive words)."""
    actor.require(Permission.MANAGE)
    before = load(conn, account_id)
    accounts.set_template_exempt(conn, account_id, exempt)
    return _changed(conn, actor, "account.exempt" if exempt else "account.unexempt", before)


def set_frequency_limits(
    conn: sa.Connection, actor: Actor, account_id: int, kind: str, limits: str | None
) -> AccountInfo:
    """Overrides the limits per number for one kind (`"4/60,5/1h,8/d"`); None: back to the defaults."""
    actor.require(Permission.MANAGE)
    kind = _kind(kind)
    if limits is not None:
        limits = limits.strip()
        try:
            parse_limits(limits)
        except ValueError as exc:
            raise ValueError(f"bad limits {limits!r}: {exc}") from None
    before = load(conn, account_id)
    current = dict(before.freq_limits)
    if limits is None:
        current.pop(kind, None)
    else:
        current[kind] = limits
    accounts.set_frequency_limits(conn, account_id, current)
    return _changed(conn, actor, "account.limits", before)


def set_max_age(
    conn: sa.Connection, actor: Actor, account_id: int, kind: str, seconds: int | None
) -> AccountInfo:
    """Overrides how long a message of one kind may wait to be submitted, in seconds; past it, it is not
    sent but fails, refunded, with an EXPIRED report. None: back to the platform's."""
    actor.require(Permission.MANAGE)
    kind = _kind(kind)
    if seconds is not None and not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"bad maximum age {seconds}: 1 second to {MAX_SECONDS // 86400} days")
    before = load(conn, account_id)
    current = dict(before.max_age)
    if seconds is None:
        current.pop(kind, None)
    else:
        current[kind] = seconds
    accounts.set_max_age(conn, account_id, current)
    return _changed(conn, actor, "account.max_age", before)


def _kind(kind: str) -> str:
    try:
        return TemplateKind(kind.strip().lower()).value
    except ValueError:
        raise ValueError(
            f"unknown kind {kind!r}; one of: {', '.join(k.value for k in TemplateKind)}"
        ) from None


def _changed(conn: sa.Connection, actor: Actor, action: str, before: AccountInfo) -> AccountInfo:
    return audit.changed(conn, actor, action, before, load)
