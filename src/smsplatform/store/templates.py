"""Templates: the reviewed texts a sub-account may send, `@` marking each variable."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.domain.templates import TemplateStatus
from smsplatform.store.clock import now
from smsplatform.store.errors import DuplicateTemplateName, InvalidState, NotFound
from smsplatform.store.schema import accounts, templates
from smsplatform.store.settings import bump_config_version


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    account_id: int
    name: str
    content: str
    ismarket: int
    kind: str
    status: int
    failreason: str
    addtime: int


@dataclass(frozen=True, slots=True)
class TemplateDraft:
    """A template as submitted, with the verdict of the automatic review."""

    name: str
    content: str
    ismarket: int
    kind: str
    status: int
    failreason: str


def _from_row(row: sa.Row[tuple[object, ...]]) -> Template:
    return Template(**row._mapping)


def _name_taken(conn: sa.Connection, account_id: int, name: str, excluding: int | None = None) -> bool:
    query = sa.select(templates.c.id).where(templates.c.account_id == account_id, templates.c.name == name)
    if excluding is not None:
        query = query.where(templates.c.id != excluding)
    return conn.execute(query).first() is not None


def create_template(conn: sa.Connection, account_id: int, draft: TemplateDraft) -> Template:
    if _name_taken(conn, account_id, draft.name):
        raise DuplicateTemplateName(draft.name)
    try:
        new_id = conn.execute(
            sa.insert(templates).values(
                account_id=account_id,
                name=draft.name,
                content=draft.content,
                ismarket=draft.ismarket,
                kind=draft.kind,
                status=draft.status,
                failreason=draft.failreason,
                addtime=now(),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    except sa.exc.IntegrityError as exc:
        raise DuplicateTemplateName(draft.name) from exc
    bump_config_version(conn)
    return get_template(conn, new_id)


def update_template(conn: sa.Connection, account_id: int, template_id: int, draft: TemplateDraft) -> Template:
    get_template(conn, template_id, account_id=account_id)
    if _name_taken(conn, account_id, draft.name, excluding=template_id):
        raise DuplicateTemplateName(draft.name)
    conn.execute(
        sa.update(templates)
        .where(templates.c.id == template_id)
        .values(
            name=draft.name,
            content=draft.content,
            ismarket=draft.ismarket,
            kind=draft.kind,
            status=draft.status,
            failreason=draft.failreason,
        )
    )
    bump_config_version(conn)
    return get_template(conn, template_id)


def get_template(
    conn: sa.Connection, template_id: int, *, account_id: int | None = None, customer_id: int | None = None
) -> Template:
    query = sa.select(templates).where(templates.c.id == template_id)
    if account_id is not None:
        query = query.where(templates.c.account_id == account_id)
    if customer_id is not None:
        query = query.join(accounts, accounts.c.id == templates.c.account_id).where(
            accounts.c.customer_id == customer_id
        )
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"template {template_id}")
    return _from_row(row)


def list_templates(
    conn: sa.Connection,
    account_id: int | None = None,
    *,
    status: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    customer_id: int | None = None,
) -> tuple[int, list[Template]]:
    where = []
    if account_id is not None:
        where.append(templates.c.account_id == account_id)
    if status is not None:
        where.append(templates.c.status == status)
    if customer_id is not None:
        where.append(
            templates.c.account_id.in_(sa.select(accounts.c.id).where(accounts.c.customer_id == customer_id))
        )
    total = conn.execute(sa.select(sa.func.count()).select_from(templates).where(*where)).scalar_one()
    query = sa.select(templates).where(*where).order_by(templates.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return int(total), [_from_row(row) for row in conn.execute(query)]


def review_template(conn: sa.Connection, template_id: int, *, approve: bool, reason: str = "") -> Template:
    current = get_template(conn, template_id)
    if approve and current.status == TemplateStatus.APPROVED:
        raise InvalidState(f"template {template_id} is already approved")
    conn.execute(
        sa.update(templates)
        .where(templates.c.id == template_id)
        .values(
            status=TemplateStatus.APPROVED if approve else TemplateStatus.REJECTED,
            failreason="" if approve else reason,
        )
    )
    bump_config_version(conn)
    return get_template(conn, template_id)
