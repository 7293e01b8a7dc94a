"""The audit log: who changed what, from which face, with the values before and after."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.store.schema import audit_log

_TARGET_LEN = 200


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: int
    operator: str
    via: str
    action: str
    target: str
    before: str  # JSON text, "" when there was nothing before (a creation)
    after: str  # JSON text, "" when nothing is left (a removal)


def add_entry(
    conn: sa.Connection,
    *,
    at: int,
    operator: str,
    via: str,
    action: str,
    target: str,
    before: str,
    after: str,
) -> int:
    return int(
        conn.execute(
            sa.insert(audit_log)
            .values(
                at=at,
                operator=operator,
                via=via,
                action=action,
                target=target[:_TARGET_LEN],
                before=before,
                after=after,
            )
            .returning(audit_log.c.id)
        ).scalar_one()
    )


def list_entries(
    conn: sa.Connection,
    *,
    limit: int = 50,
    before_id: int | None = None,
    operator: str | None = None,
    action: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[AuditEntry]:
    """Newest first; page with `before_id` (the smallest id of the previous page)."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    if operator:
        query = query.where(audit_log.c.operator == operator)
    if action:
        # "template" finds every template action, "template.approve" just that one.
        query = query.where(sa.or_(audit_log.c.action == action, audit_log.c.action.startswith(action + ".")))
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    return [AuditEntry(**row._mapping) for row in conn.execute(query)]
