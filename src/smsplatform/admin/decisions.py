"""Approving and rejecting what a customer submits for review: sub-accounts and templates alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Protocol, TypeVar

import sqlalchemy as sa

from smsplatform.admin import audit, checks
from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import schema
from smsplatform.store.errors import InvalidState
from smsplatform.store.widths import width

MAX_REASON = width(schema.accounts.c.failreason, schema.templates.c.failreason)


class Reviewed(audit.Shown, Protocol):
    """A reviewed thing as the operations show it, with its status's name."""

    @property
    def status(self) -> str: ...


R = TypeVar("R", bound=Reviewed)

# Reads one by id; writes a review: `approve`, and `reason` when rejected.
Load = Callable[[sa.Connection, int], R]
Review = Callable[..., object]


def status_names(statuses: type[IntEnum]) -> dict[IntEnum, str]:
    return {status: status.name.lower() for status in statuses}


def status_value(name: str, names: Mapping[IntEnum, str]) -> int:
    """The stored status of a status name (`pending`, …): what faces filter by."""
    for status, known in names.items():
        if known == name.strip().lower():
            return int(status)
    raise ValueError(f"unknown status {name!r}; one of: {', '.join(names.values())}")


def approve(conn: sa.Connection, actor: Actor, noun: str, target_id: int, load: Load[R], review: Review) -> R:
    actor.require(Permission.REVIEW)
    before = load(conn, target_id)
    if before.status == "approved":
        raise InvalidState(f"{noun} {target_id} is already approved")
    review(conn, target_id, approve=True)
    return audit.changed(conn, actor, f"{noun}.approve", before, load)


def reject(
    conn: sa.Connection, actor: Actor, noun: str, target_id: int, reason: str, load: Load[R], review: Review
) -> R:
    actor.require(Permission.REVIEW)
    reason = checks.text(reason, field="reason", limit=MAX_REASON)
    before = load(conn, target_id)
    review(conn, target_id, approve=False, reason=reason)
    return audit.changed(conn, actor, f"{noun}.reject", before, load)
