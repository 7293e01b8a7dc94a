"""Approving and rejecting what a customer submits for review: sub-accounts and templates alike.

Each is loaded before and after the change, and the audit log keeps both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from enum import IntEnum
from typing import Any, ClassVar, Protocol, TypeVar

import sqlalchemy as sa

from smsplatform.admin import audit, checks
from smsplatform.admin.actors import Actor, Permission
from smsplatform.store.errors import InvalidState

MAX_REASON = 500


class Reviewed(Protocol):
    """A reviewed thing as the operations show it: a dataclass with its id and its status's name."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def id(self) -> int: ...

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
    return changed(conn, actor, f"{noun}.approve", before, load)


def reject(
    conn: sa.Connection, actor: Actor, noun: str, target_id: int, reason: str, load: Load[R], review: Review
) -> R:
    actor.require(Permission.REVIEW)
    reason = checks.text(reason, field="reason", limit=MAX_REASON)
    before = load(conn, target_id)
    review(conn, target_id, approve=False, reason=reason)
    return changed(conn, actor, f"{noun}.reject", before, load)


def changed(conn: sa.Connection, actor: Actor, action: str, before: R, load: Load[R]) -> R:
    """`before` as it is now, with the change logged as `action` (`account.approve`: of `account N`)."""
    after = load(conn, before.id)
    noun = action.partition(".")[0]
    audit.record(conn, actor, action, f"{noun} {after.id}", before=asdict(before), after=asdict(after))
    return after
