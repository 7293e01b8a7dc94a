"""The callbacks outbox: status reports and replies owed to customers' URLs, and their delivery state.

Dispatch enqueues a row in the same transaction as the state change it reports, and only when the
sub-account has the matching URL set, so the hot path never writes rows nobody will receive. The
callbacks worker claims due rows with a lease (a crashed worker's claims come back when it runs out),
then marks them done, retries them later, or gives up on them, and in time deletes settled rows.

Each row's `payload` is the JSON text of one item exactly as the customer receives it, so a batch body
is the payloads joined, not a re-encoding.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from smsplatform.store.driver import chunks, execute_for_ids, insert_rows
from smsplatform.store.schema import accounts, callback_errors, callbacks, customers
from smsplatform.store.secrets import APPKEY, REPLY_PASSWORD, box_for

REPORT = "report"
REPLY = "reply"

PENDING = "pending"
DONE = "done"
DEAD = "dead"

# Long enough for a claimed row to wait its turn in its sender's lane and be posted (the worker queues
# at most 15 batches per sender and posts 4 at once, each POST at most 10 s; it lengthens the lease when
# its settings need more), short enough that a crashed process's claims come back within a minute.
DEFAULT_LEASE_SECONDS = 60

_URL_COLUMN = {REPORT: accounts.c.statusurl, REPLY: accounts.c.replyurl}


# Made once: `json.dumps` with options makes a new encoder for every call. An item is a flat object of
# strings, so there is no cycle to look for.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _payload(item: Mapping[str, str]) -> str:
    return _encode_json(dict(item))


def _enqueue_one(conn: sa.Connection, kind: str, account_id: int, item: Mapping[str, str], now: int) -> None:
    # INSERT … SELECT: the URL check and the insert are one statement.
    source = sa.select(
        accounts.c.id,
        sa.literal(kind, sa.String),
        sa.literal(_payload(item), sa.Text),
        sa.literal(PENDING, sa.String),
        sa.literal(now, sa.BigInteger),
        sa.literal(now, sa.BigInteger),
        sa.literal(_message_id(item) if kind == REPORT else None, sa.Integer),
    ).where(accounts.c.id == account_id, _URL_COLUMN[kind] != "")
    columns = ["account_id", "kind", "payload", "state", "next_attempt_at", "created_at", "message_id"]
    conn.execute(sa.insert(callbacks).from_select(columns, source))


def enqueue_report(conn: sa.Connection, account_id: int, item: Mapping[str, str], now: int) -> None:
    """Owes `item` (one status report) to the sub-account's statusurl, if it has one."""
    _enqueue_one(conn, REPORT, account_id, item, now)


def enqueue_reply(conn: sa.Connection, account_id: int, item: Mapping[str, str], now: int) -> None:
    """Owes `item` (one reply) to the sub-account's replyurl, if it has one."""
    _enqueue_one(conn, REPLY, account_id, item, now)


def enqueue_reports(conn: sa.Connection, rows: Sequence[tuple[int, Mapping[str, str]]], now: int) -> None:
    """Owes many status reports, each to its sub-account's statusurl; rows of sub-accounts without one
    are skipped. One lookup of the distinct sub-accounts, then one multi-row insert.

    Each row keeps the message it reports on (the item's reportid), for the message's page."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # One statement, the URL check in it: the rows go as one array per column, in their order
        # (the ids the reports get follow it).
        columns = ([a for a, _ in rows], [_payload(i) for _, i in rows], [_message_id(i) for _, i in rows])
        conn.exec_driver_sql(_INSERT_ARRAYS, (now, now, *columns))
        return
    wanted = sorted({account_id for account_id, _ in rows})
    with_url: set[int] = set()
    for chunk in chunks(wanted):
        with_url.update(conn.execute(_WITH_STATUSURL, {"ids": chunk}).scalars())
    values = [
        (account_id, REPORT, _payload(item), PENDING, now, now, _message_id(item))
        for account_id, item in rows
        if account_id in with_url
    ]
    insert_rows(conn, callbacks.name, _COLUMNS, values)


_WITH_STATUSURL = sa.select(accounts.c.id).where(
    accounts.c.id.in_(sa.bindparam("ids", expanding=True)), accounts.c.statusurl != ""
)
_COLUMNS = ("account_id", "kind", "payload", "state", "next_attempt_at", "created_at", "message_id")
_INSERT_ARRAYS = (
    f"INSERT INTO {callbacks.name}"
    " (account_id, kind, payload, state, next_attempt_at, created_at, message_id)"
    f" SELECT r.account_id, '{REPORT}', r.payload, '{PENDING}', %s, %s, r.message_id"
    " FROM unnest(%b::int[], %b::text[], %b::bigint[])"
    " WITH ORDINALITY AS r(account_id, payload, message_id, n)"
    f" JOIN {accounts.name} a ON a.id = r.account_id AND a.statusurl <> '' ORDER BY r.n"
)


def _message_id(item: Mapping[str, str]) -> int | None:
    """The message a status report is about: its reportid is the message's id."""
    reportid = item.get("reportid", "")
    return int(reportid) if reportid.isdigit() else None


class DueCallback(NamedTuple):
    """A claimed row with what it takes to deliver it: where, as whom, signed with which key.

    A named tuple, not a dataclass: a claim makes hundreds at a time, and a tuple is built for a
    fraction of a frozen dataclass's cost.
    """

    id: int
    account_id: int
    kind: str
    payload: str
    attempts: int  # including the attempt this claim is for
    created_at: int
    url: str  # the sub-account's statusurl or replyurl, as it is now ("" once the customer removed it)
    username: str  # HTTP Basic credentials for replies ("" for none)
    password: str
    appkey: str  # the customer's, the key of the signature
    # The customer's appkey before a rotation, while it still works: it signs too, so that a receiver
    # that has not switched keys yet can still check what it gets ("" outside a rotation's grace).
    previous_appkey: str = ""


def claim_due(
    conn: sa.Connection,
    now: int,
    limit: int,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    skip: Collection[tuple[int, str]] = (),
) -> list[DueCallback]:
    """Leases up to `limit` due pending rows, oldest due first, leaving out the `(account_id, kind)`
    pairs in `skip` (those the worker already has enough of queued for a slow receiver).

    The lease is the row's next attempt time pushed `lease_seconds` ahead: until then no other worker
    sees it as due, and if this one dies without settling it, it becomes due again by itself.
    """
    statement = _claim_statement(skip) if skip else _CLAIM
    params = {"b_now": now, "b_limit": limit, "b_until": now + lease_seconds}
    claimed = conn.execute(statement, params).all()
    if not claimed:
        return []
    box = box_for(conn)
    receivers: dict[tuple[int, str], tuple[str, str, str, str, str]] = {}
    for chunk in chunks(sorted({account_id for _, account_id, *_ in claimed})):
        for row in conn.execute(_RECEIVERS, {"ids": chunk}):
            account_id, statusurl, replyurl, username, password, sealed_password = row[:6]
            sealed_appkey, sealed_previous, previous_until = row[6:]
            # Opened once per sub-account of the claim (and cached by the box), not once per row.
            appkey = box.open_optional(sealed_appkey, APPKEY)
            previous = box.open_optional(sealed_previous, APPKEY) if (previous_until or 0) > now else ""
            password = box.open(sealed_password, REPLY_PASSWORD) if sealed_password else password
            receivers[account_id, REPORT] = (statusurl, "", "", appkey, previous)
            receivers[account_id, REPLY] = (replyurl, username, password, appkey, previous)
    found: list[DueCallback] = []
    # Unpacked, not read by name: a Row's attribute lookup costs more than the rest of the work on it.
    for row_id, account_id, kind, payload, attempts, created_at in sorted(claimed, key=_first):
        url, username, password, appkey, previous = receivers.get((account_id, kind), _NO_RECEIVER)
        found.append(
            DueCallback(
                row_id,
                account_id,
                kind,
                payload,
                attempts,
                created_at,
                url,
                username,
                password,
                appkey,
                previous,
            )
        )
    return found


def _claim_statement(skip: Collection[tuple[int, str]] = ()) -> sa.Update:
    where = [callbacks.c.state == PENDING, callbacks.c.next_attempt_at <= sa.bindparam("b_now")]
    if skip:
        where.append(sa.not_(sa.tuple_(callbacks.c.account_id, callbacks.c.kind).in_(sorted(skip))))
    due = (
        sa.select(callbacks.c.id)
        .where(*where)
        .order_by(callbacks.c.next_attempt_at, callbacks.c.id)
        .limit(sa.bindparam("b_limit"))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has one writer and ignores it
    )
    lease_until: sa.BindParameter[int] = sa.bindparam("b_until")
    return (
        sa.update(callbacks)
        .where(callbacks.c.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=lease_until, lease_until=lease_until, attempts=callbacks.c.attempts + 1)
        .returning(
            callbacks.c.id,
            callbacks.c.account_id,
            callbacks.c.kind,
            callbacks.c.payload,
            callbacks.c.attempts,
            callbacks.c.created_at,
        )
    )


# Built once (without a skip list, the common case): building a statement costs more than running it.
_CLAIM = _claim_statement()
_RECEIVERS = (
    sa.select(
        accounts.c.id,
        accounts.c.statusurl,
        accounts.c.replyurl,
        accounts.c.replyusername,
        accounts.c.replypassword,
        accounts.c.replypassword_sealed,
        customers.c.appkey_sealed,
        customers.c.previous_appkey_sealed,
        customers.c.previous_appkey_until,
    )
    .join(customers, customers.c.id == accounts.c.customer_id)
    .where(accounts.c.id.in_(sa.bindparam("ids", expanding=True)))
)
_NO_RECEIVER = ("", "", "", "", "")  # the sub-account is gone
_first = operator.itemgetter(0)


# `state || ''`, not `state`: for `id IN (…) AND state = ?`, SQLite would prefer the (state,
# next_attempt_at) index to the primary key, and read every pending row.
_MARK_DONE = (
    f"UPDATE {callbacks.name} SET state = '{DONE}', done_at = ?, lease_until = NULL, last_error = ''"
    f" WHERE id IN ({{ids}}) AND state || '' = '{PENDING}'"
)
_RELEASE = (
    f"UPDATE {callbacks.name} SET next_attempt_at = ?, lease_until = NULL, attempts = attempts - 1"
    f" WHERE id IN ({{ids}}) AND state || '' = '{PENDING}'"
)


def mark_done(conn: sa.Connection, ids: Sequence[int], now: int) -> None:
    """The customer acknowledged these rows."""
    for chunk in chunks(ids):
        execute_for_ids(conn, _MARK_DONE, chunk, now)


_ERROR_LEN = 200  # last_error and callback_errors.error

# One statement per group of rows with the same next attempt (or death) and error, not one per row:
# the rows of a failed POST share both. The error rows are written only for the rows this unit of work
# settled (the conditions repeat what it just set), so an attempt is the row's count of claims, and a
# worker whose lease ran out records nothing over the row's later attempts.
_RETRY_LATER = (
    f"UPDATE {callbacks.name} SET next_attempt_at = ?, lease_until = NULL, last_error = ?"
    f" WHERE id IN ({{ids}}) AND state || '' = '{PENDING}'"
)
_RECORD_RETRY = (
    f"INSERT INTO {callback_errors.name} (callback_id, attempt, error, at)"
    f" SELECT id, attempts, ?, ? FROM {callbacks.name}"
    f" WHERE next_attempt_at = ? AND lease_until IS NULL AND state || '' = '{PENDING}' AND id IN ({{ids}})"
)
_MARK_DEAD = (
    f"UPDATE {callbacks.name} SET state = '{DEAD}', done_at = ?, lease_until = NULL, last_error = ?"
    f" WHERE id IN ({{ids}}) AND state || '' = '{PENDING}'"
)
_RECORD_DEATH = (
    f"INSERT INTO {callback_errors.name} (callback_id, attempt, error, at)"
    f" SELECT id, attempts, ?, ? FROM {callbacks.name}"
    f" WHERE done_at = ? AND last_error = ? AND state || '' = '{DEAD}' AND id IN ({{ids}})"
)


def _grouped(rows: Sequence[tuple[int, *tuple[Any, ...]]]) -> dict[tuple[Any, ...], list[int]]:
    """Row ids by the rest of each row (the time and the error)."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row_id, *rest in rows:
        groups.setdefault(tuple(rest), []).append(row_id)
    return groups


def retry_later(conn: sa.Connection, retries: Sequence[tuple[int, int, str]], now: int) -> None:
    """Attempts on these rows failed: each `(id, next_attempt_at, error)` becomes due again at that time.

    A row another worker already settled (after this one's lease ran out) stays settled. Each attempt
    is kept in `callback_errors`.
    """
    for (at, error), ids in _grouped(retries).items():
        error = error[:_ERROR_LEN]
        for chunk in chunks(ids):
            execute_for_ids(conn, _RETRY_LATER, chunk, at, error)
            execute_for_ids(conn, _RECORD_RETRY, chunk, error, now, at)


def mark_dead(conn: sa.Connection, dead: Sequence[tuple[int, str]], now: int) -> None:
    """The retry schedule is exhausted for these `(id, error)` rows: they stay, for the operator, but are
    not tried again. The last attempt is kept in `callback_errors`."""
    for (error,), ids in _grouped(dead).items():
        error = error[:_ERROR_LEN]
        for chunk in chunks(ids):
            execute_for_ids(conn, _MARK_DEAD, chunk, now, error)
            execute_for_ids(conn, _RECORD_DEATH, chunk, error, now, now, error)


def release(conn: sa.Connection, ids: Sequence[int], now: int) -> None:
    """Hands claimed rows that were never attempted back: due now, and the claim's attempt not counted."""
    for chunk in chunks(ids):
        execute_for_ids(conn, _RELEASE, chunk, now)


def settle(
    conn: sa.Connection,
    *,
    done: Sequence[int] = (),
    retries: Sequence[tuple[int, int, str]] = (),
    dead: Sequence[tuple[int, str]] = (),
    now: int,
) -> None:
    """The outcomes of delivery attempts, as one unit of work."""
    mark_done(conn, done, now)
    retry_later(conn, retries, now)
    mark_dead(conn, dead, now)


def purge_settled(conn: sa.Connection, state: str, before: int, limit: int) -> int:
    """Deletes up to `limit` rows in `state` (done or dead) settled before `before`; returns how many.

    A settled row's `next_attempt_at` is the lease of its last claim, so it marks (within a lease) when
    the row was settled, and the (state, next_attempt_at) index finds old rows without a scan.
    """
    old = list(
        conn.execute(
            sa.select(callbacks.c.id)
            .where(callbacks.c.state == state, callbacks.c.next_attempt_at < before)
            .limit(limit)
        ).scalars()
    )
    if not old:
        return 0
    deleted = 0
    for chunk in chunks(old):
        # A callback's failed attempts go with it: they are only ever read beside it.
        conn.execute(sa.delete(callback_errors).where(callback_errors.c.callback_id.in_(chunk)))
        deleted += int(conn.execute(sa.delete(callbacks).where(callbacks.c.id.in_(chunk))).rowcount)
    return deleted


def count_by_state(conn: sa.Connection) -> dict[str, int]:
    """How many rows are pending, done and dead (for metrics and the command line)."""
    counts = {PENDING: 0, DONE: 0, DEAD: 0}
    query = sa.select(callbacks.c.state, sa.func.count()).group_by(callbacks.c.state)
    for state, count in conn.execute(query):
        counts[str(state)] = int(count)
    return counts
