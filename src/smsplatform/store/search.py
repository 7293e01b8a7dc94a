"""The operator's searches: messages, their attempts and callbacks, replies and opt-outs.

Built for tables of tens of millions of rows, where no page may scan the table:

- Pages are keyset pages, newest first: `id < before_id ORDER BY id DESC LIMIT n`, never OFFSET.
- A time range becomes an id range. Ids grow with the time a row was written (`created_at`,
  `received_at`), so the first id at or after a time is found by binary search on the primary key:
  a few dozen primary-key lookups, whatever the table's size. Rows are stamped before their
  transaction commits, so ids and times may disagree by a few seconds; the bounds are widened by
  `TIME_SLACK` and the exact times checked on the rows read.
- Each search reads through the narrowest index its filters allow: the send (`send_id`), the number
  (`mobile, id`), the customer (`customer_id, id`; a sub-account's messages through its customer's),
  else the primary key.
- Filters no index serves (a state, a carrier, a connector, text) are checked on the rows read. When
  such matches are rare, filling a page could mean reading millions of rows, so those searches read
  in id windows of growing size and stop once the page is full or a time budget is spent: the page
  then holds what was found so far, and its `next_before_id` continues where reading stopped.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.message_states import FINAL_STATES, QUEUED, SUBMITTED, SUBMITTING
from smsplatform.domain.numbers import Carrier
from smsplatform.store.schema import (
    accounts,
    callback_errors,
    callbacks,
    customers,
    inbound,
    message_parts,
    messages,
    optouts,
    submit_errors,
)

MESSAGE_STATES: tuple[str, ...] = (
    QUEUED.value,
    SUBMITTING.value,
    SUBMITTED.value,
    *sorted(state.value for state in FINAL_STATES),
)
CARRIERS = tuple(c.value for c in Carrier)

# How far ids and write times may disagree (rows are stamped before their group commit).
TIME_SLACK = 300

# Reading time a search with sparse matches may spend on one page before it returns what it found.
DEFAULT_BUDGET_SECONDS = 0.05

PREVIEW_CHARS = 40
MAX_PAGE = 1000

_FIRST_WINDOW = 8192  # ids read by the first window of a sparse search
_MAX_WINDOW = 262_144  # and at most per window, so that one window stays well inside the budget


# --- names beside ids -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountLabel:
    customer_id: int
    signature: str
    company: str


def customer_names(conn: sa.Connection, ids: Collection[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    query = sa.select(customers.c.id, customers.c.name).where(customers.c.id.in_(wanted))
    return {int(i): str(name) for i, name in conn.execute(query)}


def account_labels(conn: sa.Connection, ids: Collection[int | None]) -> dict[int, AccountLabel]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    query = sa.select(accounts.c.id, accounts.c.customer_id, accounts.c.signature, accounts.c.company).where(
        accounts.c.id.in_(wanted)
    )
    return {int(i): AccountLabel(int(c), str(s), str(co)) for i, c, s, co in conn.execute(query)}


def customer_of_account(conn: sa.Connection, account_id: int) -> int | None:
    found = conn.execute(sa.select(accounts.c.customer_id).where(accounts.c.id == account_id)).scalar()
    return None if found is None else int(found)


# --- time → id ------------------------------------------------------------------------------------


def _id_bounds(conn: sa.Connection, table: sa.Table) -> tuple[int, int]:
    """(smallest id, largest id + 1); (0, 0) for an empty table. Two primary-key ends: each its own
    subquery, since SQLite reads `min` or `max` from the index only when it is a query's one aggregate
    (with both in one, it scans the table)."""
    low, high = conn.execute(
        sa.select(
            sa.select(sa.func.min(table.c.id)).scalar_subquery(),
            sa.select(sa.func.max(table.c.id)).scalar_subquery(),
        )
    ).one()
    return (0, 0) if low is None else (int(low), int(high) + 1)


def first_id_at(
    conn: sa.Connection,
    table: sa.Table,
    stamp: sa.Column[Any],
    ts: int,
    bounds: tuple[int, int] | None = None,
) -> int:
    """The smallest id from which on rows are stamped at `ts` or later (largest id + 1 when none is).

    Binary search over the id space (`bounds`: the table's, when known): each step reads the first row
    at or above a midpoint by primary key, so it costs about log2(rows) lookups and never a scan.
    """
    low, high = bounds or _id_bounds(conn, table)
    probe = (
        sa.select(table.c.id, stamp).where(table.c.id >= sa.bindparam("b_at")).order_by(table.c.id).limit(1)
    )
    while low < high:
        middle = (low + high) // 2
        row_id, stamped = conn.execute(probe, {"b_at": middle}).one()
        if stamped >= ts:
            high = middle
        else:
            low = int(row_id) + 1  # every id up to this row's is stamped before `ts`
    return low


def id_range(
    conn: sa.Connection, table: sa.Table, stamp: sa.Column[Any], since: int | None, until: int | None
) -> tuple[int, int]:
    """[low, high) ids holding every row stamped in [since, until) (and a few around it)."""
    bounds = low, high = _id_bounds(conn, table)
    if since is not None and low < high:
        low = max(low, first_id_at(conn, table, stamp, since - TIME_SLACK, bounds))
    if until is not None and low < high:
        high = min(high, first_id_at(conn, table, stamp, until + TIME_SLACK, bounds))
    return low, high


# --- keyset pages ---------------------------------------------------------------------------------


def _newest_first(
    conn: sa.Connection,
    query: sa.Select[Any],
    key: sa.Column[Any],
    low: int,
    high: int,
    limit: int,
    *,
    sparse: bool,
    budget: float,
) -> tuple[list[sa.Row[Any]], int | None]:
    """Rows of `query` with `key` in [low, high), newest first, at most `limit`; and the `before_id` of
    the next page (None when nothing older can match).

    `sparse`: the query has filters no index serves, so it reads window by window (see the module
    docstring) and may return fewer rows than `limit` with a next page to continue from.
    """
    if high <= low:
        return [], None
    ordered = query.order_by(key.desc())
    if not sparse:
        rows = list(conn.execute(ordered.where(key < high, key >= low).limit(limit + 1)))
        return (rows[:limit], int(rows[limit - 1][0])) if len(rows) > limit else (rows, None)
    started = time.monotonic()
    found: list[sa.Row[Any]] = []
    top, window = high, _FIRST_WINDOW
    while top > low:
        bottom = max(low, top - window)
        found.extend(conn.execute(ordered.where(key < top, key >= bottom).limit(limit + 1 - len(found))))
        if len(found) > limit:
            return found[:limit], int(found[limit - 1][0])
        # The next window starts at the next id that exists: on PostgreSQL the message ids of two days
        # lie 2^32 apart (store/partitions.py), a gap no window should have to walk through.
        below = conn.execute(sa.select(sa.func.max(key)).where(key < bottom, key >= low)).scalar()
        top = low if below is None else int(below) + 1
        elapsed = time.monotonic() - started
        if elapsed >= budget:
            break
        # The next window grows, but only as far as the reading speed seen so far lets it end
        # within the budget.
        per_id = elapsed / (high - top)
        fits = int((budget - elapsed) / per_id) if per_id > 0 else _MAX_WINDOW
        window = max(_FIRST_WINDOW, min(window * 4, _MAX_WINDOW, fits))
    return found, (top if top > low else None)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"a page holds 1 to {MAX_PAGE} rows")


# --- messages -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What an operator searches messages by; every field given must match."""

    msgid: int | None = None  # the send's id: the `msgid` the customer was answered
    mobile: str | None = None
    customer_id: int | None = None
    account_id: int | None = None
    carrier: str | None = None
    connector: str | None = None
    state: str | None = None
    since: int | None = None  # created at or after
    until: int | None = None  # created before

    def check(self) -> None:
        """ValueError, readable, for what can match nothing by construction."""
        if self.state is not None and self.state not in MESSAGE_STATES:
            raise ValueError(f"unknown state {self.state!r}: one of {', '.join(MESSAGE_STATES)}")
        if self.carrier is not None and self.carrier not in CARRIERS:
            raise ValueError(f"unknown carrier {self.carrier!r}: one of {', '.join(CARRIERS)}")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("the end of a time range comes after its start")


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    msgid: int
    customer_id: int
    customer_name: str
    account_id: int
    account_signature: str
    mobile: str
    kind: str
    carrier: str
    connector: str  # "" until one is chosen
    segments: int
    state: str
    stat: str
    errcode: str
    created_at: int
    submitted_at: int | None
    done_at: int | None
    preview: str  # the content's first characters, "…" when cut (all of it in exports)


@dataclass(frozen=True, slots=True)
class MessagePage:
    rows: list[MessageRow]
    # Pass as `before_id` for the next page; None when no older message matches. A page may hold fewer
    # rows than asked and still have a next page when matches are sparse (see the module docstring).
    next_before_id: int | None
    # How far back the store reaches (store/retention.py): messages are kept for `kept_days` days, since
    # the unix second `kept_since`; 0 and None when everything is kept.
    kept_days: int = 0
    kept_since: int | None = None


_ROW_COLUMNS = (
    messages.c.id,
    messages.c.send_id,
    messages.c.customer_id,
    messages.c.account_id,
    messages.c.mobile,
    messages.c.kind,
    messages.c.carrier,
    messages.c.connector,
    messages.c.segments,
    messages.c.state,
    messages.c.stat,
    messages.c.errcode,
    messages.c.created_at,
    messages.c.submitted_at,
    messages.c.done_at,
)


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def find_messages(
    conn: sa.Connection,
    where: MessageFilter,
    *,
    limit: int = 50,
    before_id: int | None = None,
    budget: float = DEFAULT_BUDGET_SECONDS,
    whole_content: bool = False,
) -> MessagePage:
    """Messages matching `where`, newest first, `before_id` (exclusive) down. Each row's `preview` is
    the content's first characters, or all of it with `whole_content` (exports)."""
    _check_limit(limit)
    where.check()
    customer_id = where.customer_id
    if where.account_id is not None:
        # A sub-account's messages are read through its customer's index (the table has no index of
        # its own for them; a sub-account is a share of one customer's traffic).
        owner = customer_of_account(conn, where.account_id)
        if owner is None or (customer_id is not None and customer_id != owner):
            return MessagePage([], None)
        customer_id = owner
    conditions: list[sa.ColumnElement[bool]] = []
    residual: list[sa.ColumnElement[bool]] = []  # checked on rows read, served by no index
    if where.msgid is not None:
        conditions.append(messages.c.send_id == where.msgid)
    if where.mobile is not None:
        conditions.append(messages.c.mobile == where.mobile)
    if customer_id is not None:
        conditions.append(messages.c.customer_id == customer_id)
    if where.account_id is not None:
        residual.append(messages.c.account_id == where.account_id)
    if where.carrier is not None:
        residual.append(messages.c.carrier == where.carrier)
    if where.connector is not None:
        residual.append(messages.c.connector == where.connector)
    if where.state is not None:
        residual.append(messages.c.state == where.state)
    # A send or a number has few messages: reading all of theirs is cheap whatever else is asked.
    sparse = bool(residual) and where.msgid is None and where.mobile is None
    if where.since is not None:
        conditions.append(messages.c.created_at >= where.since)
    if where.until is not None:
        conditions.append(messages.c.created_at < where.until)
    low, high = id_range(conn, messages, messages.c.created_at, where.since, where.until)
    if before_id is not None:
        high = min(high, before_id)
    if where.state in _IN_FLIGHT and low < high:
        # Messages still in flight are few and recent, and have partial indexes: the oldest one bounds
        # the search, and an empty queue answers at once instead of after a read of the whole table.
        oldest = _oldest_in_state(conn, where.state)
        if oldest is None:
            return MessagePage([], None)
        low = max(low, oldest)
    content = (
        messages.c.content if whole_content else sa.func.substr(messages.c.content, 1, PREVIEW_CHARS + 1)
    )
    query = sa.select(*_ROW_COLUMNS, content).where(*conditions, *residual)
    rows, next_before = _newest_first(
        conn, query, messages.c.id, low, high, limit, sparse=sparse, budget=budget
    )
    names = customer_names(conn, [r.customer_id for r in rows])
    labels = account_labels(conn, [r.account_id for r in rows])
    found = []
    for r in rows:
        label = labels.get(r.account_id)
        found.append(
            MessageRow(
                id=r.id,
                msgid=r.send_id,
                customer_id=r.customer_id,
                customer_name=names.get(r.customer_id, ""),
                account_id=r.account_id,
                account_signature=label.signature if label else "",
                mobile=r.mobile,
                kind=r.kind,
                carrier=r.carrier,
                connector=r.connector or "",
                segments=r.segments,
                state=r.state,
                stat=r.stat,
                errcode=r.errcode,
                created_at=r.created_at,
                submitted_at=r.submitted_at,
                done_at=r.done_at,
                preview=r[-1] if whole_content else _preview(r[-1]),
            )
        )
    return MessagePage(found, next_before)


_IN_FLIGHT = (QUEUED, SUBMITTING)


def _oldest_in_state(conn: sa.Connection, state: str) -> int | None:
    """The smallest id in `state` (queued or submitting), read from that state's partial index.

    The state is written out (only a literal lets a partial index serve it), and the id as `id + 0`:
    `min(id)` itself would have SQLite walk the primary key from the start until the first match.
    """
    assert state in _IN_FLIGHT
    query = sa.select(sa.func.min(messages.c.id + 0)).where(
        messages.c.state == sa.literal_column(f"'{state}'")
    )
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One message row, whole."""

    id: int
    send_id: int
    customer_id: int
    account_id: int
    mobile: str
    content: str
    kind: str
    segments: int
    carrier: str
    state: str
    attempts: int
    connector: str | None
    stat: str
    errcode: str
    created_at: int
    submitted_at: int | None
    done_at: int | None
    maybe_sent: int


def _columns(table: sa.Table, record: type[Any], *, but: Collection[str] = ()) -> list[sa.Column[Any]]:
    """The table's columns named as the record's fields, in the record's order."""
    return [table.c[name] for name in record.__dataclass_fields__ if name not in but]


def _of_message(
    table: sa.Table, record: type[Any], message_id: int, *, but: Collection[str] = ()
) -> sa.Select[Any]:
    """A message's rows of `table`, as `record`'s fields, in the order they were written."""
    return (
        sa.select(*_columns(table, record, but=but))
        .where(table.c.message_id == message_id)
        .order_by(table.c.id)
    )


_RECORD_COLUMNS = _columns(messages, MessageRecord)


def get_message(conn: sa.Connection, message_id: int) -> MessageRecord | None:
    row = conn.execute(sa.select(*_RECORD_COLUMNS).where(messages.c.id == message_id)).first()
    return None if row is None else MessageRecord(*row)


@dataclass(frozen=True, slots=True)
class PartRecord:
    """A segment the SMSC acknowledged, and its receipt once one came."""

    part: int
    connector: str
    remote_id: str
    stat: str
    err: str


def parts_of(conn: sa.Connection, message_id: int) -> list[PartRecord]:
    return [PartRecord(*row) for row in conn.execute(_of_message(message_parts, PartRecord, message_id))]


@dataclass(frozen=True, slots=True)
class SubmitErrorRecord:
    """A submit attempt that did not end in an acknowledged part."""

    attempt: int
    connector: str
    outcome: str  # retry, failed, maybe_sent
    error: str
    at: int


def submit_errors_of(conn: sa.Connection, message_id: int) -> list[SubmitErrorRecord]:
    query = _of_message(submit_errors, SubmitErrorRecord, message_id)
    return [SubmitErrorRecord(*row) for row in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class CallbackErrorRecord:
    """A delivery the receiver did not acknowledge, with its answer."""

    attempt: int
    error: str
    at: int


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    id: int
    kind: str
    state: str  # pending, done, dead
    attempts: int
    next_attempt_at: int
    created_at: int
    done_at: int | None
    last_error: str
    payload: str  # the JSON item as the customer receives it
    errors: list[CallbackErrorRecord]


def callbacks_of(conn: sa.Connection, message_id: int) -> list[CallbackRecord]:
    """The status report callbacks owed for a message, each with its failed attempts."""
    rows = list(conn.execute(_of_message(callbacks, CallbackRecord, message_id, but=("errors",))))
    errors: dict[int, list[CallbackErrorRecord]] = {int(r.id): [] for r in rows}
    if errors:
        error_query = (
            sa.select(callback_errors.c.callback_id, *_columns(callback_errors, CallbackErrorRecord))
            .where(callback_errors.c.callback_id.in_(sorted(errors)))
            .order_by(callback_errors.c.id)
        )
        for callback_id, attempt, error, at in conn.execute(error_query):
            errors[int(callback_id)].append(CallbackErrorRecord(attempt, error, at))
    return [CallbackRecord(**row._asdict(), errors=errors[int(row.id)]) for row in rows]


# --- replies --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyRow:
    id: int
    received_at: int
    mobile: str
    content: str
    destination: str  # the number it was sent to: the connector's source number and an extension
    connector: str
    customer_id: int | None  # None: no sub-account could be found for it
    customer_name: str
    account_id: int | None
    account_signature: str


@dataclass(frozen=True, slots=True)
class ReplyPage:
    rows: list[ReplyRow]
    next_before_id: int | None  # as MessagePage's


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_replies(
    conn: sa.Connection,
    *,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    text: str | None = None,
    since: int | None = None,
    until: int | None = None,
    limit: int = 50,
    before_id: int | None = None,
    budget: float = DEFAULT_BUDGET_SECONDS,
) -> ReplyPage:
    """Replies (MO) matching every filter given, newest first.

    Only the sub-account has an index here; the rest reads the primary key by windows (replies are
    far fewer than messages).
    """
    _check_limit(limit)
    if since is not None and until is not None and until <= since:
        raise ValueError("the end of a time range comes after its start")
    conditions: list[sa.ColumnElement[bool]] = []
    residual: list[sa.ColumnElement[bool]] = []
    if account_id is not None:
        conditions.append(inbound.c.account_id == account_id)
    if mobile is not None:
        residual.append(inbound.c.mobile == mobile)
    if customer_id is not None:
        residual.append(inbound.c.customer_id == customer_id)
    if text:
        residual.append(inbound.c.content.like(f"%{_like_escaped(text)}%", escape="\\"))
    if since is not None:
        conditions.append(inbound.c.received_at >= since)
    if until is not None:
        conditions.append(inbound.c.received_at < until)
    low, high = id_range(conn, inbound, inbound.c.received_at, since, until)
    if before_id is not None:
        high = min(high, before_id)
    query = sa.select(
        inbound.c.id,
        inbound.c.received_at,
        inbound.c.mobile,
        inbound.c.content,
        inbound.c.destination,
        inbound.c.connector,
        inbound.c.customer_id,
        inbound.c.account_id,
    ).where(*conditions, *residual)
    rows, next_before = _newest_first(
        conn, query, inbound.c.id, low, high, limit, sparse=bool(residual), budget=budget
    )
    names = customer_names(conn, [r.customer_id for r in rows])
    labels = account_labels(conn, [r.account_id for r in rows])
    found = []
    for r in rows:
        label = labels.get(r.account_id) if r.account_id is not None else None
        found.append(
            ReplyRow(
                id=r.id,
                received_at=r.received_at,
                mobile=r.mobile,
                content=r.content,
                destination=r.destination,
                connector=r.connector,
                customer_id=r.customer_id,
                customer_name=names.get(r.customer_id, "") if r.customer_id is not None else "",
                account_id=r.account_id,
                account_signature=label.signature if label else "",
            )
        )
    return ReplyPage(found, next_before)


# --- opt-outs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptOutRow:
    account_id: int
    account_signature: str
    customer_id: int | None
    customer_name: str
    mobile: str
    created_at: int


@dataclass(frozen=True, slots=True)
class OptOutPage:
    rows: list[OptOutRow]
    # Pass as `before` for the next page (a cursor: "<account_id>:<mobile>"); None after the last.
    next_before: str | None


def _opt_out_cursor(cursor: str) -> tuple[int, str]:
    account, _, mobile = cursor.partition(":")
    if not account.isdigit() or not mobile:
        raise ValueError(f"not an opt-out cursor: {cursor!r}")
    return int(account), mobile


def find_optouts(
    conn: sa.Connection,
    *,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    limit: int = 50,
    before: str | None = None,
) -> OptOutPage:
    """Opt-outs by sub-account (newest sub-account first), then number, in primary-key order.

    A number is looked up in each sub-account's part of the primary key (`account_id IN (…) AND
    mobile = ?`), so no filter scans the list.
    """
    _check_limit(limit)
    where: list[sa.ColumnElement[bool]] = []
    if account_id is not None:
        where.append(optouts.c.account_id == account_id)
    if customer_id is not None:
        where.append(
            optouts.c.account_id.in_(sa.select(accounts.c.id).where(accounts.c.customer_id == customer_id))
        )
    if mobile is not None:
        if account_id is None and customer_id is None:
            where.append(optouts.c.account_id.in_(sa.select(accounts.c.id)))
        where.append(optouts.c.mobile == mobile)
    if before is not None:
        last_account, last_mobile = _opt_out_cursor(before)
        # A row value, not an OR of two terms: both backends read the primary key from the cursor on.
        where.append(sa.tuple_(optouts.c.account_id, optouts.c.mobile) < sa.tuple_(last_account, last_mobile))
    query = (
        sa.select(optouts.c.account_id, optouts.c.mobile, optouts.c.created_at)
        .where(*where)
        .order_by(optouts.c.account_id.desc(), optouts.c.mobile.desc())
        .limit(limit + 1)
    )
    rows = list(conn.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    labels = account_labels(conn, [r.account_id for r in rows])
    names = customer_names(conn, [label.customer_id for label in labels.values()])
    found = []
    for r in rows:
        label = labels.get(r.account_id)
        owner = label.customer_id if label else None
        found.append(
            OptOutRow(
                account_id=r.account_id,
                account_signature=label.signature if label else "",
                customer_id=owner,
                customer_name=names.get(owner, "") if owner is not None else "",
                mobile=r.mobile,
                created_at=r.created_at,
            )
        )
    next_before = f"{rows[-1].account_id}:{rows[-1].mobile}" if more else None
    return OptOutPage(found, next_before)
