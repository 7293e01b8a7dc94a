"""Templates: list them with their sub-account's signature and customer's name, approve, reject."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import sqlalchemy as sa

from smsplatform.admin import audit, checks
from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import accounts, templates
from smsplatform.store.accounts import AccountOwner
from smsplatform.store.errors import InvalidState
from smsplatform.store.templates import Template, TemplateStatus

STATUS_NAMES = {status: status.name.lower() for status in TemplateStatus}
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class TemplateInfo:
    id: int
    account_id: int
    signature: str  # the sub-account's
    customer_id: int
    customer_name: str
    name: str
    content: str
    kind: str  # verification, notification, marketing
    status: str  # pending, approved, rejected
    failreason: str
    created_at: int


def status_value(name: str) -> int:
    for status, known in STATUS_NAMES.items():
        if known == name.strip().lower():
            return int(status)
    raise ValueError(f"unknown status {name!r}; one of: {', '.join(STATUS_NAMES.values())}")


def info(template: Template, owner: AccountOwner | None) -> TemplateInfo:
    return TemplateInfo(
        id=template.id,
        account_id=template.account_id,
        signature=owner.signature if owner else "",
        customer_id=owner.customer_id if owner else 0,
        customer_name=owner.customer_name if owner else "",
        name=template.name,
        content=template.content,
        kind=template.kind,
        status=STATUS_NAMES.get(TemplateStatus(template.status), str(template.status)),
        failreason=template.failreason,
        created_at=template.addtime,
    )


def load(conn: sa.Connection, template_id: int) -> TemplateInfo:
    template = templates.get_template(conn, template_id)
    return info(template, accounts.owners(conn, [template.account_id]).get(template.account_id))


def list_templates(
    conn: sa.Connection,
    actor: Actor,
    *,
    status: str | None = None,
    account_id: int | None = None,
    customer_id: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[TemplateInfo]:
    """Templates in id order: all, or one sub-account's or customer's, in every status or one."""
    actor.require(Permission.VIEW)
    wanted = None if status is None else status_value(status)
    _, found = templates.list_templates(
        conn, account_id, status=wanted, customer_id=customer_id, offset=offset, limit=limit
    )
    owners = accounts.owners(conn, (t.account_id for t in found))
    return [info(t, owners.get(t.account_id)) for t in found]


def get_template(conn: sa.Connection, actor: Actor, template_id: int) -> TemplateInfo:
    actor.require(Permission.VIEW)
    return load(conn, template_id)


def approve_template(conn: sa.Connection, actor: Actor, template_id: int) -> TemplateInfo:
    actor.require(Permission.REVIEW)
    before = load(conn, template_id)
    if before.status == "approved":
        raise InvalidState(f"template {template_id} is already approved")
    templates.review_template(conn, template_id, approve=True)
    return _changed(conn, actor, "template.approve", before)


def reject_template(conn: sa.Connection, actor: Actor, template_id: int, reason: str) -> TemplateInfo:
    """Sends matching only this template answer 225; `reason` is what the customer reads (failreason)."""
    actor.require(Permission.REVIEW)
    reason = checks.text(reason, field="reason", limit=MAX_REASON)
    before = load(conn, template_id)
    templates.review_template(conn, template_id, approve=False, reason=reason)
    return _changed(conn, actor, "template.reject", before)


def _changed(conn: sa.Connection, actor: Actor, action: str, before: TemplateInfo) -> TemplateInfo:
    after = load(conn, before.id)
    audit.record(conn, actor, action, f"template {after.id}", before=asdict(before), after=asdict(after))
    return after
