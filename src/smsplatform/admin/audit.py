"""Writing and reading the audit log: every change an operator makes, with before and after."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any, ClassVar, Protocol, TypeVar

import sqlalchemy as sa

from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import audit
from smsplatform.store.audit import AuditEntry
from smsplatform.store.clock import now

# Values that never reach the log: the log is read by reviewers too.
SECRET_KEYS = frozenset(
    {"password", "appkey", "replypassword", "listen_password", "callback_password", "token", "password_hash"}
)
MASK = "******"


def masked(value: Any) -> Any:
    """`value` (a record of plain data) with every secret field replaced by a mask."""
    if isinstance(value, Mapping):
        return {k: (MASK if k in SECRET_KEYS and v else masked(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(masked(value), ensure_ascii=False, sort_keys=True, default=str)


def record(
    conn: sa.Connection, actor: Actor, action: str, target: str, *, before: Any = None, after: Any = None
) -> None:
    """One entry, in the transaction of the change it describes (both are kept, or neither)."""
    audit.add_entry(
        conn,
        at=now(),
        operator=actor.name,
        via=actor.via.value,
        action=action,
        target=target,
        before=_json(before),
        after=_json(after),
    )


class Shown(Protocol):
    """A thing as the operations show it: a dataclass with its id."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def id(self) -> int: ...


S = TypeVar("S", bound=Shown)


def changed(
    conn: sa.Connection, actor: Actor, action: str, before: S, load: Callable[[sa.Connection, int], S]
) -> S:
    """`before` read again after its change, logged as `action` (`customer.topup` of `customer <id>`)."""
    after = load(conn, before.id)
    noun = action.partition(".")[0]
    record(conn, actor, action, f"{noun} {after.id}", before=asdict(before), after=asdict(after))
    return after


def list_audit(
    conn: sa.Connection,
    actor: Actor,
    *,
    limit: int = 50,
    before_id: int | None = None,
    operator: str | None = None,
    action: str | None = None,
    since: int | None = None,
    until: int | None = None,
) -> list[AuditEntry]:
    actor.require(Permission.VIEW)
    return audit.list_entries(
        conn, limit=limit, before_id=before_id, operator=operator, action=action, since=since, until=until
    )
