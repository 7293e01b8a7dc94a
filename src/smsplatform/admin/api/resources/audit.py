"""/audit: every change an operator made, by whom, through which face, with before and after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.admin import audit
from smsplatform.admin.actors import Actor
from smsplatform.admin.api.endpoint import Endpoint

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: int
    operator: str
    via: str
    action: str
    target: str
    before: Any  # the values before the change (secrets masked); null for a creation
    after: Any  # the values after it; null for a removal


def _value(text: str) -> Any:
    return json.loads(text) if text else None


def list_audit(
    conn: sa.Connection,
    actor: Actor,
    limit: int = 50,
    before_id: int | None = None,
    operator: str | None = None,
    action: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[AuditRecord]:
    """The audit log, newest first; the next page starts below the smallest id of this one."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit is 1 to {MAX_LIMIT}")
    entries = audit.list_audit(
        conn,
        actor,
        limit=limit,
        before_id=before_id,
        operator=operator,
        action=action,
        since=since,
        until=until,
    )
    return [
        AuditRecord(e.id, e.at, e.operator, e.via, e.action, e.target, _value(e.before), _value(e.after))
        for e in entries
    ]


ENDPOINTS = [
    Endpoint(
        "GET",
        "/audit",
        list_audit,
        params={
            "limit": f"At most this many entries (1–{MAX_LIMIT})",
            "before_id": "Only entries older than this id: the smallest id of the previous page",
            "operator": "Only this operator's changes",
            "action": "Only this action (customer.topup) or subject (customer)",
            "since": "Only changes at or after this unix time",
            "until": "Only changes before this unix time",
        },
    ),
]
