"""Templates: list them with their sub-account's signature and customer's name, approve, reject."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import decisions
from smsplatform.admin.actors import Actor, Permission
from smsplatform.domain.templates import TemplateStatus
from smsplatform.store import accounts, templates
from smsplatform.store.accounts import AccountOwner
from smsplatform.store.templates import Template

STATUS_NAMES = decisions.status_names(TemplateStatus)
MAX_REASON = decisions.MAX_REASON


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
    return decisions.status_value(name, STATUS_NAMES)


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
    return decisions.approve(conn, actor, "template", template_id, load, templates.review_template)


def reject_template(conn: sa.Connection, actor: Actor, template_id: int, reason: str) -> TemplateInfo:
    """Sends matching only this template answer 225; `reason` is what the customer reads (failreason)."""
    return decisions.reject(conn, actor, "template", template_id, reason, load, templates.review_template)
