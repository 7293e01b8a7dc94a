"""Customers' callback receivers: which are failing and why, what waits for them, and retry now.

A receiver is a sub-account's status-report URL (`kind` "report") or reply URL (`kind` "reply"); the
console names it by its URL's host, never the whole URL (paths and queries may carry tokens).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import audit
from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import receivers as store
from smsplatform.store.clock import now as wall_clock
from smsplatform.store.errors import NotFound
from smsplatform.store.search import customer_names


@dataclass(frozen=True, slots=True)
class ReceiverHealth:
    account_id: int
    account_signature: str  # "" when the sub-account is gone
    account_company: str
    customer_id: int | None
    customer_name: str
    kind: str  # report (statusurl) or reply (replyurl)
    host: str  # "" when the sub-account no longer has that URL
    backlog: int  # callbacks pending for it
    failing: int  # of which refused at least once
    oldest_pending_at: int
    oldest_pending_age: int  # seconds
    next_attempt_at: int  # when the next of them is tried
    attempts: int  # tries of its most tried pending callback
    last_error: str  # its answer to the last failed attempt
    last_error_at: int | None  # None when the attempt is older than the recent failures kept at hand


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    failing: int
    due: int
    dead: int
    done: int
    oldest_pending_at: int | None
    failing_receivers: int


def _health(conn: sa.Connection, now: int) -> list[ReceiverHealth]:
    groups = [g for g in store.pending_by_receiver(conn) if g.failed]
    if not groups:
        return []
    owners = store.receiver_accounts(conn, [g.account_id for g in groups])
    names = customer_names(conn, [a.customer_id for a in owners.values()])
    errors = store.last_errors(conn)
    found = []
    for g in groups:
        owner = owners.get(g.account_id)
        error, error_at = errors.get((g.account_id, g.kind), (g.last_error, None))
        found.append(
            ReceiverHealth(
                account_id=g.account_id,
                account_signature=owner.signature if owner else "",
                account_company=owner.company if owner else "",
                customer_id=owner.customer_id if owner else None,
                customer_name=names.get(owner.customer_id, "") if owner else "",
                kind=g.kind,
                host=store.host_of(owner.url(g.kind)) if owner else "",
                backlog=g.pending,
                failing=g.failed,
                oldest_pending_at=g.oldest_created_at,
                oldest_pending_age=max(0, now - g.oldest_created_at),
                next_attempt_at=g.next_attempt_at,
                attempts=g.max_attempts,
                last_error=error,
                last_error_at=error_at,
            )
        )
    # The worst first: the longest backlog, then the oldest.
    found.sort(key=lambda r: (-r.backlog, r.oldest_pending_at, r.account_id, r.kind))
    return found


def failing(conn: sa.Connection, actor: Actor) -> list[ReceiverHealth]:
    """Receivers with pending callbacks that were refused at least once, the longest backlog first."""
    actor.require(Permission.VIEW)
    return _health(conn, wall_clock())


def backlog(conn: sa.Connection, actor: Actor) -> Backlog:
    """The callbacks outbox by state, and how many receivers are failing."""
    actor.require(Permission.VIEW)
    at = wall_clock()
    counts = store.counts(conn, at)
    failing_receivers = sum(1 for g in store.pending_by_receiver(conn) if g.failed)
    return Backlog(
        pending=counts.pending,
        failing=counts.failing,
        due=counts.due,
        dead=counts.dead,
        done=counts.done,
        oldest_pending_at=counts.oldest_pending_at,
        failing_receivers=failing_receivers,
    )


def retry_now(
    conn: sa.Connection, actor: Actor, *, account_id: int | None = None, host: str | None = None
) -> int:
    """Callbacks waiting for a later retry become due now: a sub-account's (both its receivers), a
    host's (every receiver at it), both of these together, or, with neither, every receiver's.
    Returns how many callbacks were moved."""
    actor.require(Permission.MANAGE)
    host = (host or "").strip().lower() or None
    targets: list[tuple[int, str]] | None = None
    if account_id is not None:
        if not store.receiver_accounts(conn, [account_id]):
            raise NotFound(f"no sub-account {account_id}")
        targets = [(account_id, kind) for kind in store.KINDS]
    if host is not None:
        at_host = store.receivers_at_host(conn, host)
        targets = at_host if targets is None else [t for t in targets if t in at_host]
    moved = store.retry_now(conn, targets, wall_clock())
    if account_id is None and host is None:
        target = "receivers all"
    else:
        target = "receivers " + " ".join(
            part for part in (f"account {account_id}" if account_id is not None else "", host or "") if part
        )
    audit.record(
        conn,
        actor,
        "callback.retry",
        target,
        after={"account_id": account_id, "host": host, "callbacks": moved},
    )
    return moved
