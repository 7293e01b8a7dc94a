"""Customers' callback receivers as the operator sees them: which fail, how much waits, retry now.

A receiver is one sub-account's status-report URL or reply URL. The callbacks outbox
(`store/callbacks.py`) keeps one row per report or reply owed; its rows that are pending and carry a
`last_error` have been refused at least once. Every count here reads the pending rows through the
(state, next_attempt_at) index, so it costs what the backlog is long, not what the history is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from smsplatform.store.callbacks import DEAD, DONE, PENDING, REPLY, REPORT
from smsplatform.store.schema import accounts, callback_errors, callbacks

KINDS = (REPORT, REPLY)

# How many of the newest failed attempts are read to find each failing receiver's last answer.
RECENT_ERRORS = 5000


def host_of(url: str) -> str:
    """The host a URL names, lower case (no port, path or query: those may carry a customer's token)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class PendingGroup:
    """What one receiver has waiting."""

    account_id: int
    kind: str  # report or reply
    pending: int
    failed: int  # pending rows refused at least once
    oldest_created_at: int
    next_attempt_at: int  # the earliest one is tried again (a claimed row: when its claim runs out)
    max_attempts: int
    last_error: str  # one failed row's last answer (the newest answer, when known, is in `last_errors`)


def pending_by_receiver(conn: sa.Connection) -> list[PendingGroup]:
    failed = sa.func.sum(sa.case((callbacks.c.last_error != "", 1), else_=0))
    query = (
        sa.select(
            callbacks.c.account_id,
            callbacks.c.kind,
            sa.func.count(),
            failed,
            sa.func.min(callbacks.c.created_at),
            sa.func.min(callbacks.c.next_attempt_at),
            sa.func.max(callbacks.c.attempts),
            sa.func.max(callbacks.c.last_error),
        )
        .where(callbacks.c.state == PENDING)
        .group_by(callbacks.c.account_id, callbacks.c.kind)
        .order_by(callbacks.c.account_id, callbacks.c.kind)
    )
    return [
        PendingGroup(int(a), str(k), int(n), int(f or 0), int(oldest), int(due), int(tries), str(error))
        for a, k, n, f, oldest, due, tries, error in conn.execute(query)
    ]


def last_errors(conn: sa.Connection, limit: int = RECENT_ERRORS) -> dict[tuple[int, str], tuple[str, int]]:
    """(account_id, kind) → (answer, when) of the newest failed attempt, among the newest `limit`
    failed attempts (a receiver failing now has one among them)."""
    newest = conn.execute(sa.select(sa.func.max(callback_errors.c.id))).scalar()
    if newest is None:
        return {}
    query = (
        sa.select(callbacks.c.account_id, callbacks.c.kind, callback_errors.c.error, callback_errors.c.at)
        .join(callbacks, callbacks.c.id == callback_errors.c.callback_id)
        .where(callback_errors.c.id > newest - limit)
        .order_by(callback_errors.c.id.desc())
    )
    found: dict[tuple[int, str], tuple[str, int]] = {}
    for account_id, kind, error, at in conn.execute(query):
        found.setdefault((int(account_id), str(kind)), (str(error), int(at)))
    return found


@dataclass(frozen=True, slots=True)
class ReceiverAccount:
    account_id: int
    customer_id: int
    signature: str
    company: str
    statusurl: str
    replyurl: str

    def url(self, kind: str) -> str:
        return self.statusurl if kind == REPORT else self.replyurl


def receiver_accounts(conn: sa.Connection, ids: Iterable[int]) -> dict[int, ReceiverAccount]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = sa.select(
        accounts.c.id,
        accounts.c.customer_id,
        accounts.c.signature,
        accounts.c.company,
        accounts.c.statusurl,
        accounts.c.replyurl,
    ).where(accounts.c.id.in_(wanted))
    return {int(row[0]): ReceiverAccount(*row) for row in conn.execute(query)}


def receivers_at_host(conn: sa.Connection, host: str) -> list[tuple[int, str]]:
    """The (account_id, kind) receivers whose URL names `host`."""
    host = host.strip().lower()
    if not host:
        return []
    # A rough filter in SQL (the host appears somewhere in the URL), the exact match below.
    escaped = host.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    query = sa.select(accounts.c.id, accounts.c.statusurl, accounts.c.replyurl).where(
        sa.or_(
            accounts.c.statusurl.ilike(pattern, escape="\\"),
            accounts.c.replyurl.ilike(pattern, escape="\\"),
        )
    )
    found = []
    for account_id, statusurl, replyurl in conn.execute(query):
        for kind, url in ((REPORT, statusurl), (REPLY, replyurl)):
            if url and host_of(url) == host:
                found.append((int(account_id), kind))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class CallbackCounts:
    pending: int
    failing: int  # pending and refused at least once
    due: int  # pending and due now (waiting for a worker)
    dead: int  # given up on after the retry schedule, kept for the operator
    done: int  # acknowledged, until purged
    oldest_pending_at: int | None


def counts(conn: sa.Connection, now: int) -> CallbackCounts:
    by_state = {PENDING: 0, DONE: 0, DEAD: 0}
    for state, n in conn.execute(sa.select(callbacks.c.state, sa.func.count()).group_by(callbacks.c.state)):
        by_state[str(state)] = int(n)
    pending = callbacks.c.state == PENDING
    failing, due, oldest = conn.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((callbacks.c.last_error != "", 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((callbacks.c.next_attempt_at <= now, 1), else_=0)), 0),
            sa.func.min(callbacks.c.created_at),
        ).where(pending)
    ).one()
    return CallbackCounts(
        pending=by_state[PENDING],
        failing=int(failing),
        due=int(due),
        dead=by_state[DEAD],
        done=by_state[DONE],
        oldest_pending_at=None if oldest is None else int(oldest),
    )


def retry_now(conn: sa.Connection, receivers: Sequence[tuple[int, str]] | None, now: int) -> int:
    """Makes the pending callbacks of `receivers` ((account_id, kind) pairs; None: every receiver)
    that wait for a later retry due now; returns how many. Rows claimed by a worker right now are left
    alone (their claim is their next attempt time: making them due would post them twice)."""
    where = [
        callbacks.c.state == PENDING,
        callbacks.c.next_attempt_at > now,
        sa.or_(callbacks.c.lease_until.is_(None), callbacks.c.lease_until <= now),
    ]
    if receivers is None:
        return int(conn.execute(sa.update(callbacks).where(*where).values(next_attempt_at=now)).rowcount)
    moved = 0
    for account_id, kind in sorted(set(receivers)):
        statement = (
            sa.update(callbacks)
            .where(*where, callbacks.c.account_id == account_id, callbacks.c.kind == kind)
            .values(next_attempt_at=now)
        )
        moved += int(conn.execute(statement).rowcount)
    return moved
