"""The dispatcher's units of work on the outbox: claims, submit results, receipts and replies.

Every function runs inside one `Database.write` and takes a whole batch, so the hot path costs a few
statements per batch, not per message. Each state change a customer can see enqueues its callback in
the same transaction, and every transition is guarded by the state it leaves, so repeating a unit
(a redelivered receipt, a result recorded after its lease ran out) changes nothing.

Claims are leases: `claim` moves due `queued` rows to `submitting` under the dispatcher's name until
`lease_until`; the dispatcher renews them while it works on them. A dead dispatcher's claims come back
by its submit journal when it kept one (`give_back_claims`: answered ones are recorded, those that
never left are queued again, only those on the wire unanswered count as possibly sent), else by
`requeue_expired` once their lease ran out, each counted as possibly sent (`maybe_sent`): it may have
reached the carrier before the process died.

A receipt is matched only among the parts of the connector it came through (message ids are unique
per SMSC at best), and only to a part sent to the number it names. One that arrives before its
submit result was committed finds no part yet; it is stored in `unmatched_receipts` (and the SMSC is
acknowledged), applied when `record_results` inserts its part, and swept up by `rematch_receipts` for
the cases where the two transactions ran side by side.
"""

from __future__ import annotations

import functools
import json
import operator
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smsplatform.domain.expiry import DEFAULT_MAX_AGES, MaxAges
from smsplatform.domain.numbers import normalize_mobile
from smsplatform.domain.optout import is_opt_out_reply
from smsplatform.store.callbacks import enqueue_reply, enqueue_reports
from smsplatform.store.driver import chunks, driver_sql, execute_for_ids
from smsplatform.store.rollups import Tally
from smsplatform.store.schema import (
    accounts,
    inbound,
    message_parts,
    messages,
    optouts,
    submit_errors,
    unmatched_receipts,
)

QUEUED = "queued"
SUBMITTING = "submitting"
SUBMITTED = "submitted"
DELIVERED = "delivered"
UNDELIVERED = "undelivered"
EXPIRED = "expired"
REJECTED = "rejected"
FAILED = "failed"
UNKNOWN = "unknown"  # submitted, but no status report came within the receipt timeout (store/expiry.py)
FINAL_STATES = frozenset({DELIVERED, UNDELIVERED, EXPIRED, REJECTED, FAILED, UNKNOWN})

DELIVRD = "DELIVRD"
# Receipt states that are not the end of the story (SMPP sends them as intermediate notifications).
INTERMEDIATE_STATS = frozenset({"ENROUTE", "ACCEPTD"})
_STATE_OF_STAT = {DELIVRD: DELIVERED, "EXPIRED": EXPIRED, "REJECTD": REJECTED}

# Column widths: values from an SMSC are cut to fit (consistently, so that receipts still match),
# since a value the store refuses would fail its whole batch, again and again.
_ID_LEN = 64
_ERR_LEN = 32
_STAT_LEN = 16
_ERROR_TEXT_LEN = 200  # submit_errors.error: the whole answer, where errcode keeps a code

# submit_errors.outcome
RETRY = "retry"
MAYBE_SENT = "maybe_sent"


@functools.lru_cache(maxsize=4096)  # a batch of reports shares a few distinct seconds
def local_time(ts: int) -> str:
    """Callback times as Chinese SMS platforms render them: "YYYY-MM-DD HH:MM:SS", server local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _ids(name: str = "b_ids") -> sa.BindParameter[Any]:
    return sa.bindparam(name, expanding=True)


def _unindexed(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """`column` in a form no index serves.

    For `id IN (...) AND state = 'queued'` SQLite may prefer the queued messages' partial index to
    the primary key and read every queued message; a term it cannot index leaves it the primary key.
    """
    return column.concat("")


def _in_state(state: str) -> sa.ColumnElement[bool]:
    """`messages.state = '<state>'` with the state written out: only a literal lets SQLite and
    PostgreSQL use the partial index of that state (a bound parameter could be any state)."""
    return messages.c.state == sa.literal_column(f"'{state}'")


def _is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


_first = operator.itemgetter(0)


# --- claims and leases --------------------------------------------------------------------------


class ClaimedMessage(NamedTuple):
    """A message leased to one dispatcher, with what it takes to submit it.

    A named tuple, not a dataclass: a claim makes hundreds at a time, and a tuple is built for a
    fraction of a frozen dataclass's cost.
    """

    id: int
    account_id: int
    mobile: str
    content: str
    carrier: str
    segments: int
    attempts: int  # including this one
    created_at: int
    extension: str  # the sub-account's extension code, appended to the connector's source number
    kind: str = "notification"
    # When it expires unsubmitted: acceptance plus its kind's maximum age (None: never).
    expires_at: int | None = None


# The hot path's statements are built once: building a statement costs more than running it.


def _claim_statement(*, skip_locked: bool) -> sa.Update:
    due = (
        sa.select(messages.c.id)
        .where(_in_state(QUEUED), messages.c.next_attempt_at <= sa.bindparam("b_now"))
        # The queued messages' index is in this order: no sort.
        .order_by(messages.c.next_attempt_at, messages.c.id)
        .limit(sa.bindparam("b_limit"))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        sa.update(messages)
        .where(messages.c.id.in_(due.scalar_subquery()))
        .values(
            state=SUBMITTING,
            lease_owner=sa.bindparam("b_owner"),
            lease_until=sa.bindparam("b_until"),
            attempts=messages.c.attempts + 1,
        )
        .returning(
            messages.c.id,
            messages.c.account_id,
            messages.c.mobile,
            messages.c.content,
            messages.c.carrier,
            messages.c.segments,
            messages.c.attempts,
            messages.c.created_at,
            messages.c.kind,
        )
    )


_CLAIM = _claim_statement(skip_locked=False)
_CLAIM_SKIP_LOCKED = _claim_statement(skip_locked=True)  # PostgreSQL: claimers pass each other by
_EXTENSIONS = sa.select(accounts.c.id, accounts.c.extension, accounts.c.max_age).where(
    accounts.c.id.in_(_ids())
)


def claim(
    conn: sa.Connection,
    owner: str,
    now: int,
    limit: int,
    lease_seconds: int,
    max_ages: MaxAges = DEFAULT_MAX_AGES,
) -> list[ClaimedMessage]:
    """Lease up to `limit` due queued messages to `owner`, oldest due first; each says when it
    expires by its kind's maximum age (`max_ages`, or its sub-account's override)."""
    statement = _CLAIM_SKIP_LOCKED if _is_postgres(conn) else _CLAIM
    params = {"b_now": now, "b_limit": limit, "b_owner": owner, "b_until": now + lease_seconds}
    # Rows of ClaimedMessage's fields in order up to created_at, then the kind: (id, account_id, …).
    rows = sorted(conn.execute(statement, params).all(), key=_first)
    if not rows:
        return []
    extensions: dict[int, str] = {}
    overrides: dict[int, dict[str, int]] = {}
    for chunk in chunks(sorted({row[1] for row in rows})):
        for account_id, extension, max_age in conn.execute(_EXTENSIONS, {"b_ids": chunk}):
            extensions[account_id] = extension
            if max_age and max_age != "{}":
                overrides[account_id] = json.loads(max_age)
    claimed = []
    for *fields, kind in rows:
        account_id, created_at = fields[1], fields[7]
        expires_at = created_at + max_ages.of(kind, overrides.get(account_id))
        claimed.append(ClaimedMessage._make((*fields, extensions.get(account_id, ""), kind, expires_at)))
    return claimed


def renew_leases(conn: sa.Connection, owner: str, until: int, ending_before: int | None = None) -> int:
    """Extend to `until` the leases `owner` holds (those ending before `ending_before`, when given): a
    live dispatcher never loses its claims to `requeue_expired`."""
    where = [_in_state(SUBMITTING), messages.c.lease_owner == owner]
    if ending_before is not None:
        where.append(messages.c.lease_until < ending_before)
    result = conn.execute(sa.update(messages).where(*where).values(lease_until=until))
    return int(result.rowcount)


LEASE_RAN_OUT = "lease ran out: the dispatcher holding it stopped answering"
RELEASED = "given back unanswered: the dispatcher was stopping"


def _give_back(*where: sa.ColumnElement[bool], counted: bool = True) -> sa.Update:
    return (
        sa.update(messages)
        .where(_in_state(SUBMITTING), *where)
        .values(
            state=QUEUED,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=sa.bindparam("b_now"),
            maybe_sent=messages.c.maybe_sent + int(counted),
        )
        .returning(messages.c.id, messages.c.attempts)
    )


_REQUEUE_EXPIRED = _give_back(messages.c.lease_until < sa.bindparam("b_now"))
_REQUEUE_EXPIRED_BUT = _give_back(
    messages.c.lease_until < sa.bindparam("b_now"),
    messages.c.lease_owner.not_in(sa.bindparam("b_keep", expanding=True)),
)
_RELEASE = _give_back(messages.c.lease_owner == sa.bindparam("b_owner"))


def requeue_expired(conn: sa.Connection, now: int, keep: Iterable[str] = ()) -> int:
    """Give back claims whose lease ran out (their dispatcher died); each counts as possibly sent.

    Owners in `keep` are left alone: a live one, or a dead one whose submit journal is at hand and
    tells what became of each claim (`give_back_claims`).
    """
    kept = sorted(keep)
    if kept:
        given_back = conn.execute(_REQUEUE_EXPIRED_BUT, {"b_now": now, "b_keep": kept}).all()
    else:
        given_back = conn.execute(_REQUEUE_EXPIRED, {"b_now": now}).all()
    _record_errors(conn, [(i, attempt, "", MAYBE_SENT, LEASE_RAN_OUT, now) for i, attempt in given_back])
    return len(given_back)


def release_leases(conn: sa.Connection, owner: str, now: int) -> int:
    """Give back what `owner` still holds when it stops; each counts as possibly sent, since its
    submit may have been on the wire when the dispatcher gave up waiting for it."""
    given_back = conn.execute(_RELEASE, {"b_now": now, "b_owner": owner}).all()
    _record_errors(conn, [(i, attempt, "", MAYBE_SENT, RELEASED, now) for i, attempt in given_back])
    return len(given_back)


_INSERT_ERROR = (
    f"INSERT INTO {submit_errors.name} (message_id, attempt, connector, outcome, error, at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def _record_errors(conn: sa.Connection, rows: Sequence[tuple[int, int, str, str, str, int]]) -> None:
    """Keep attempts that did not end in an acknowledged part: rows of (message_id, attempt,
    connector, outcome, error, at). Only error paths come here."""
    if rows:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_ERROR), sorted(rows))


# --- submit results ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Submitted:
    """The SMSC accepted every segment."""

    message_id: int
    connector: str
    remote_ids: tuple[str, ...]  # one per segment, in order


@dataclass(frozen=True, slots=True)
class Retry:
    """Not submitted this time; queued again for `at`."""

    message_id: int
    at: int
    error: str
    connector: str | None = None
    maybe_sent: bool = False  # the request may have reached the SMSC (its response never came)


@dataclass(frozen=True, slots=True)
class Failed:
    """Given up before the carrier took it: the message is final, its segments are refunded."""

    message_id: int
    error: str
    state: str = FAILED  # FAILED (we gave up) or REJECTED (the SMSC refused it)
    stat: str = "UNDELIV"  # the status word the report carries
    connector: str | None = None
    maybe_sent: bool = False


SubmitOutcome = Submitted | Retry | Failed


@dataclass(frozen=True, slots=True)
class RecordSummary:
    submitted: int = 0
    retried: int = 0
    failed: int = 0
    early_receipts: int = 0  # receipts kept in unmatched_receipts that now found their part
    finished: int = 0  # messages those receipts made final


def record_results(
    conn: sa.Connection, owner: str, outcomes: Sequence[SubmitOutcome], now: int
) -> RecordSummary:
    """Store a batch of submit outcomes of messages `owner` claimed.

    A Submitted outcome is stored even when the lease was lost meanwhile, as long as nobody else
    recorded the message: the carrier has it, and its receipts must find it. Retries and failures
    apply only while `owner` still holds the lease.
    """
    submitted = [o for o in outcomes if isinstance(o, Submitted)]
    retries = [o for o in outcomes if isinstance(o, Retry)]
    failures = [o for o in outcomes if isinstance(o, Failed)]
    tally = Tally()
    stored = _record_submitted(conn, submitted, now, tally) if submitted else []
    retried = _record_retries(conn, owner, retries, now) if retries else 0
    failed = _record_failures(conn, owner, failures, now, tally) if failures else 0
    early, finished = 0, 0
    if stored:
        early, finished = _apply_early_receipts(conn, stored, now, tally)
    tally.write(conn)
    return RecordSummary(len(stored), retried, failed, early, finished)


def _record_submitted(
    conn: sa.Connection, outcomes: Sequence[Submitted], now: int, tally: Tally
) -> list[Submitted]:
    by_connector: dict[str, list[Submitted]] = defaultdict(list)
    for outcome in outcomes:
        by_connector[outcome.connector].append(outcome)
    stored: list[Submitted] = []
    for connector, group in by_connector.items():
        by_id = {o.message_id: o for o in group}
        for chunk in chunks(sorted(by_id)):
            # Rows of (id, customer_id, carrier, kind, created_at).
            updated = execute_for_ids(conn, _MARK_SUBMITTED, chunk, connector, now).all()
            stored.extend(by_id[row[0]] for row in updated)
            tally.submitted(now, connector, [row[1:] for row in updated])
    parts = [
        (o.message_id, index, o.connector, remote_id[:_ID_LEN])
        for o in stored
        for index, remote_id in enumerate(o.remote_ids, start=1)
    ]
    if parts:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_PART), parts)
    return stored


# `state || ''`, not `state`: see `_unindexed` (with the index, SQLite would read every queued message).
_MARK_SUBMITTED = (
    f"UPDATE {messages.name} SET state = '{SUBMITTED}', connector = ?, submitted_at = ?,"
    " lease_owner = NULL, lease_until = NULL, errcode = ''"
    f" WHERE id IN ({{ids}}) AND state || '' IN ('{SUBMITTING}', '{QUEUED}')"
    " RETURNING id, customer_id, carrier, kind, created_at"
)
_INSERT_PART = (
    f"INSERT INTO {message_parts.name} (message_id, part, connector, remote_id) VALUES (?, ?, ?, ?)"
)


# One statement per distinct (time, error, connector) of a batch: a throttling SMSC answers a whole
# window alike. `state || ''`: see `_unindexed`.
_REQUEUE = (
    f"UPDATE {messages.name} SET state = '{QUEUED}', lease_owner = NULL, lease_until = NULL,"
    " next_attempt_at = ?, errcode = ?, connector = ?, maybe_sent = maybe_sent + ?"
    f" WHERE lease_owner = ? AND id IN ({{ids}}) AND state || '' = '{SUBMITTING}' RETURNING id, attempts"
)


def _record_retries(conn: sa.Connection, owner: str, retries: Sequence[Retry], now: int) -> int:
    groups: dict[tuple[int, str, str | None, bool], list[int]] = defaultdict(list)
    for r in retries:
        groups[r.at, r.error, r.connector, r.maybe_sent].append(r.message_id)
    errors: list[tuple[int, int, str, str, str, int]] = []
    for (at, error, connector, maybe_sent), ids in groups.items():
        outcome, text = (MAYBE_SENT if maybe_sent else RETRY), error[:_ERROR_TEXT_LEN]
        for chunk in chunks(sorted(ids)):
            params = (at, error[:_ERR_LEN], connector, int(maybe_sent), owner)
            for message_id, attempt in execute_for_ids(conn, _REQUEUE, chunk, *params):
                errors.append((message_id, attempt, connector or "", outcome, text, now))
    _record_errors(conn, errors)
    return len(errors)


_REPORT_COLUMNS = (
    messages.c.id,
    messages.c.send_id,
    messages.c.account_id,
    messages.c.mobile,
    messages.c.segments,
    messages.c.submitted_at,
    messages.c.created_at,
)
_AFTER_REPORT = len(_REPORT_COLUMNS)
# What a final message counts in the traffic figures by (see `Tally.finished`), in its order.
_TALLY_COLUMNS = (
    messages.c.customer_id,
    messages.c.carrier,
    messages.c.kind,
    messages.c.connector,
    messages.c.state,
    messages.c.submitted_at,
)


def _report(row: Sequence[Any], stat: str, errcode: str, done_at: int) -> tuple[int, dict[str, str]]:
    """The sub-account a message's status report is owed to, and the report as the customer receives
    it (SPEC §7). `row` begins with the `_REPORT_COLUMNS`."""
    # Unpacked, not read by name: a Row's attribute lookup costs more than building the report.
    message_id, send_id, account_id, mobile, segments, submitted_at, created_at = row[: len(_REPORT_COLUMNS)]
    return account_id, {
        "msgid": str(send_id),
        "mobile": mobile,
        "accountid": str(account_id),
        "status": stat,
        "success": "1" if stat == DELIVRD else "0",
        "errcode": errcode,
        "submittime": local_time(submitted_at or created_at),
        "donetime": local_time(done_at),
        "segments": str(segments),
        "reportid": str(message_id),
    }


def _record_failures(
    conn: sa.Connection, owner: str, failures: Sequence[Failed], now: int, tally: Tally
) -> int:
    reports: list[tuple[int, Mapping[str, str]]] = []
    refunds: dict[int, int] = defaultdict(int)
    errors: list[tuple[int, int, str, str, str, int]] = []
    finished: list[Sequence[Any]] = []
    for f in failures:  # rare: one statement each
        stat, errcode = f.stat[:_STAT_LEN], f.error[:_ERR_LEN]
        row = conn.execute(
            sa.update(messages)
            .where(
                messages.c.id == f.message_id,
                messages.c.state == SUBMITTING,
                messages.c.lease_owner == owner,
            )
            .values(
                state=f.state,
                stat=stat,
                errcode=errcode,
                done_at=now,
                connector=f.connector,
                lease_owner=None,
                lease_until=None,
                maybe_sent=messages.c.maybe_sent + int(f.maybe_sent),
            )
            .returning(*_REPORT_COLUMNS, messages.c.attempts, *_TALLY_COLUMNS)
        ).first()
        if row is None:
            continue
        refunds[row.account_id] += row.segments
        reports.append(_report(row, stat, errcode, now))
        errors.append((f.message_id, row.attempts, f.connector or "", FAILED, f.error[:_ERROR_TEXT_LEN], now))
        finished.append(row[_AFTER_REPORT + 1 :])  # past the attempts
    _refund(conn, refunds)
    enqueue_reports(conn, reports, now)
    _record_errors(conn, errors)
    tally.finished(now, finished)
    return len(reports)


def _refund(conn: sa.Connection, refunds: Mapping[int, int]) -> None:
    """Give the segments of messages the carrier never took back to their sub-accounts' balance."""
    if not refunds:
        return
    conn.execute(
        sa.update(accounts)
        .where(accounts.c.id == sa.bindparam("b_id"))
        .values(
            usednum=sa.case(
                (accounts.c.usednum >= sa.bindparam("b_n"), accounts.c.usednum - sa.bindparam("b_n")),
                else_=0,
            )
        ),
        [{"b_id": account_id, "b_n": n} for account_id, n in sorted(refunds.items())],
    )


# --- claims of a dispatcher that died, by its submit journal ------------------------------------


@dataclass(frozen=True, slots=True)
class JournaledClaims:
    """What a dispatcher's submit journal tells of its claims (see dispatch/submit_journal.py)."""

    owner: str
    answered: Mapping[int, tuple[int, Submitted]]  # message id → (attempt, what the SMSC accepted)
    on_the_wire: Mapping[int, int]  # message id → attempt: written, not wholly answered
    # Every line the owner wrote is here, so that a claim it does not name never left. False when the
    # machine restarted since (lines not yet fsynced may be lost): every claim not answered counts.
    complete: bool = True


@dataclass(frozen=True, slots=True)
class GivenBack:
    submitted: int = 0  # answered by the SMSC: recorded as submitted, not sent again
    unsent: int = 0  # never on the wire (or refused): queued again, not possibly sent
    maybe_sent: int = 0  # on the wire unanswered: queued again, counted in maybe_sent


IN_FLIGHT_AT_CRASH = "on the wire unanswered when its dispatcher stopped"
_CLAIMS_OF = sa.select(messages.c.id, messages.c.attempts).where(
    _in_state(SUBMITTING), messages.c.lease_owner == sa.bindparam("b_owner")
)
_QUEUED_ATTEMPTS = sa.select(messages.c.id, messages.c.attempts).where(
    messages.c.id.in_(_ids()), _unindexed(messages.c.state) == QUEUED
)
_THESE_OF_OWNER = (messages.c.id.in_(_ids()), messages.c.lease_owner == sa.bindparam("b_owner"))
_GIVE_BACK_UNSENT = _give_back(*_THESE_OF_OWNER, counted=False)
_GIVE_BACK_MAYBE_SENT = _give_back(*_THESE_OF_OWNER)


def give_back_claims(conn: sa.Connection, claims: JournaledClaims, now: int) -> GivenBack:
    """Settle every claim `claims.owner` (a dispatcher that stopped) still holds, by its journal.

    Only the attempt the claim is at counts (a line of an earlier claim of the same message says
    nothing of this one). An answered message whose lease another machine's dispatcher gave back
    meanwhile is recorded too, unless it was claimed again.
    """
    held = dict(conn.execute(_CLAIMS_OF, {"b_owner": claims.owner}).all())
    submitted: list[Submitted] = []
    unsent: list[int] = []
    maybe_sent: list[int] = []
    for message_id, attempt in held.items():
        answer = claims.answered.get(message_id)
        if answer is not None and answer[0] == attempt:
            submitted.append(answer[1])
        elif claims.on_the_wire.get(message_id) == attempt or not claims.complete:
            maybe_sent.append(message_id)
        else:
            unsent.append(message_id)
    elsewhere = sorted(set(claims.answered) - held.keys())
    for chunk in chunks(elsewhere):
        for message_id, attempt in conn.execute(_QUEUED_ATTEMPTS, {"b_ids": chunk}):
            if claims.answered[message_id][0] == attempt:
                submitted.append(claims.answered[message_id][1])
    stored = record_results(conn, claims.owner, submitted, now).submitted if submitted else 0
    params = {"b_now": now, "b_owner": claims.owner}
    for chunk in chunks(sorted(unsent)):
        conn.execute(_GIVE_BACK_UNSENT, {**params, "b_ids": chunk}).all()
    errors: list[tuple[int, int, str, str, str, int]] = []
    for chunk in chunks(sorted(maybe_sent)):
        for message_id, attempt in conn.execute(_GIVE_BACK_MAYBE_SENT, {**params, "b_ids": chunk}):
            errors.append((message_id, attempt, "", MAYBE_SENT, IN_FLIGHT_AT_CRASH, now))
    _record_errors(conn, errors)
    return GivenBack(stored, len(unsent), len(errors))


# --- receipts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiptIn:
    """A status report for one segment, as a connector delivered it."""

    connector: str
    remote_id: str
    stat: str
    err: str = ""
    destination: str = ""  # the number the report names, as the SMSC wrote it; "" when it named none


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    applied: int = 0  # receipts that set a part's state
    duplicates: int = 0  # receipts for parts already final (redeliveries): no change
    intermediate: int = 0  # ENROUTE/ACCEPTD: nothing to do
    unmatched: int = 0  # no part yet: kept in unmatched_receipts
    finished: int = 0  # messages that became final (one report each)


# A part a receipt may be for: (id, message_id, its message's mobile, stat). A plain tuple, read by
# unpacking: a Row's attribute lookup costs more than the rest of the work on a receipt.
_Part = tuple[int, int, str, str]


def apply_receipts(conn: sa.Connection, receipts: Sequence[ReceiptIn], now: int) -> ReceiptSummary:
    """Set each receipt's part; a message whose parts are all final becomes final, with one report."""
    final = [r for r in receipts if r.stat not in INTERMEDIATE_STATS]
    matched, unmatched = _match(conn, final)
    if unmatched:
        conn.execute(
            sa.insert(unmatched_receipts),
            [
                {
                    "connector": r.connector,
                    "remote_id": r.remote_id[:_ID_LEN],
                    "stat": r.stat[:_STAT_LEN],
                    "err": r.err[:_ERR_LEN],
                    "received_at": now,
                    "destination": _mobile(r.destination),
                }
                for r in unmatched
            ],
        )
    tally = Tally()
    applied, duplicates, finished = _settle(conn, matched, now, tally)
    tally.write(conn)
    return ReceiptSummary(applied, duplicates, len(receipts) - len(final), len(unmatched), finished)


_PARTS_BY_REMOTE_ID = (
    f"SELECT p.remote_id, p.id, p.message_id, m.mobile, p.stat FROM {message_parts.name} p"
    f" JOIN {messages.name} m ON m.id = p.message_id WHERE p.connector = ? AND p.remote_id IN ({{ids}})"
)
# One statement per distinct (stat, err) of a batch: nearly all receipts share one.
_SET_PART_STATE = f"UPDATE {message_parts.name} SET stat = ?, err = ? WHERE id IN ({{ids}}) AND stat = ''"
_LOCK_MESSAGES = (
    sa.select(messages.c.id).where(messages.c.id.in_(_ids())).order_by(messages.c.id).with_for_update()
)


def _finish_statement() -> sa.Update:
    """Make final, in one statement, the listed messages whose parts all have a final state.

    The message's state word is its first failing part's (in segment order), or DELIVRD when every
    part was delivered; its errcode goes with it (the first part's, when all were delivered).
    """
    own_parts = message_parts.c.message_id == messages.c.id

    def first(column: sa.Column[str], *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[str]:
        query = sa.select(column).where(own_parts, *where).order_by(message_parts.c.part).limit(1)
        return query.scalar_subquery()

    failed = message_parts.c.stat != DELIVRD
    stat = sa.func.coalesce(first(message_parts.c.stat, failed), DELIVRD)
    state = sa.case(
        *((stat == word, state) for word, state in _STATE_OF_STAT.items()),
        else_=UNDELIVERED,
    )
    open_part = sa.exists().where(own_parts, message_parts.c.stat == "")
    return (
        sa.update(messages)
        .where(messages.c.id.in_(_ids()), _unindexed(messages.c.state) == SUBMITTED, ~open_part)
        .values(
            state=state,
            stat=stat,
            errcode=sa.func.coalesce(first(message_parts.c.err, failed), first(message_parts.c.err), ""),
            done_at=sa.bindparam("b_now"),
        )
        .returning(*_REPORT_COLUMNS, messages.c.stat, messages.c.errcode, *_TALLY_COLUMNS)
    )


_FINISH = _finish_statement()
_KEPT_BY_REMOTE_ID = (
    f"SELECT id, connector, remote_id, stat, err, destination FROM {unmatched_receipts.name}"
    " WHERE connector = ? AND remote_id IN ({ids})"
)


def _mobile(destination: str) -> str:
    """The 11-digit number a receipt names, or "" when it names none we can read (then any of its
    connector's parts with its id may be its own)."""
    return (normalize_mobile(destination) or "") if destination else ""


def _by_connector(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(connector, remote id) pairs as each connector's distinct ids, cut to the column's width."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for connector, remote_id in keys:
        grouped[connector].add(remote_id[:_ID_LEN])
    return {connector: sorted(ids) for connector, ids in grouped.items()}


def _match(
    conn: sa.Connection, receipts: Sequence[ReceiptIn]
) -> tuple[list[tuple[ReceiptIn, _Part]], list[ReceiptIn]]:
    """Each receipt's part among the parts its own connector recorded under its id.

    Message ids are unique per SMSC at best (SMPP 3.4 §4.4.2; CMPP, SGIP and SMGP per gateway): another
    connector's part is never a candidate, whatever it recorded under the same id. Within a connector
    one id can still name two messages (an SMSC that restarted and counts again; two processes of one
    SGIP node), so a receipt that names its number takes only a part sent to that number, and one
    whose own part is not recorded yet waits for it (unmatched) rather than land on the other. Among
    the parts left: open before final, newer before older.
    """
    candidates: dict[tuple[str, str], list[_Part]] = defaultdict(list)
    for connector, remote_ids in _by_connector((r.connector, r.remote_id) for r in receipts).items():
        for chunk in chunks(remote_ids):
            for row in execute_for_ids(conn, _PARTS_BY_REMOTE_ID, chunk, connector).all():
                candidates[connector, row[0]].append(row[1:])
    matched: list[tuple[ReceiptIn, _Part]] = []
    unmatched: list[ReceiptIn] = []
    for receipt in receipts:
        parts = candidates.get((receipt.connector, receipt.remote_id[:_ID_LEN]))
        if parts and receipt.destination:
            mobile = _mobile(receipt.destination)
            if mobile:
                parts = [part for part in parts if part[2] == mobile]
        if not parts:
            unmatched.append(receipt)
            continue
        matched.append((receipt, parts[0] if len(parts) == 1 else max(parts, key=_preference)))
    return matched, unmatched


def _preference(part: _Part) -> tuple[bool, int]:
    part_id, _, _, stat = part
    return stat == "", part_id


def _settle(
    conn: sa.Connection, matched: Sequence[tuple[ReceiptIn, _Part]], now: int, tally: Tally
) -> tuple[int, int, int]:
    """Apply matched receipts; returns (applied, duplicates, messages finished)."""
    parts_by_outcome: dict[tuple[str, str], list[int]] = defaultdict(list)
    seen: set[int] = set()
    touched: set[int] = set()
    for receipt, (part_id, message_id, _, stat) in matched:
        if stat or part_id in seen:
            continue
        seen.add(part_id)
        touched.add(message_id)
        parts_by_outcome[receipt.stat[:_STAT_LEN], receipt.err[:_ERR_LEN]].append(part_id)
    if not seen:
        return 0, len(matched), 0
    message_ids = sorted(touched)
    if _is_postgres(conn):
        # Two receipts of one long message settled side by side would each see only their own part
        # final: the message row lock makes the second wait for the first, then see both.
        for chunk in chunks(message_ids):
            conn.execute(_LOCK_MESSAGES, {"b_ids": chunk}).all()
    applied = 0
    for (stat, err), part_ids in parts_by_outcome.items():
        for chunk in chunks(part_ids):
            applied += execute_for_ids(conn, _SET_PART_STATE, chunk, stat, err).rowcount
    finished = _finish_messages(conn, message_ids, now, tally)
    return applied, len(matched) - applied, finished


_PARTS_OF = f"SELECT message_id, part, stat, err FROM {message_parts.name} WHERE message_id IN ({{ids}})"
# One statement per distinct (stat, errcode) of a batch; `state || ''`: see `_unindexed`.
_SET_FINAL = (
    f"UPDATE {messages.name} SET state = ?, stat = ?, errcode = ?, done_at = ?"
    f" WHERE id IN ({{ids}}) AND state || '' = '{SUBMITTED}'"
    f" RETURNING {', '.join(column.name for column in (*_REPORT_COLUMNS, *_TALLY_COLUMNS))}"
)


def _final_stat(parts: list[tuple[int, str, str]]) -> tuple[str, str] | None:
    """(stat, errcode) of a message whose parts are (part, stat, err): its first failing part's, or
    DELIVRD with the first part's err; None while a part has no final state yet."""
    if len(parts) == 1:  # most messages
        _, stat, err = parts[0]
        return (stat, err) if stat else None
    if any(not stat for _, stat, _ in parts):
        return None
    parts.sort()
    for _, stat, err in parts:
        if stat != DELIVRD:
            return stat, err
    return DELIVRD, parts[0][2]


def _finish_messages(conn: sa.Connection, message_ids: Sequence[int], now: int, tally: Tally) -> int:
    """Make final the messages whose parts all have a final state; enqueue one report each."""
    reports: list[tuple[int, Mapping[str, str]]] = []
    not_submitted: list[int] = []  # complete, but no longer `submitted`: perhaps timed out
    for chunk in chunks(message_ids):
        if _is_postgres(conn):
            # Writers run side by side here: one statement decides and changes each row under its lock.
            rows = conn.execute(_FINISH, {"b_ids": chunk, "b_now": now}).all()
            reports.extend(_report(row, row.stat, row.errcode, now) for row in rows)
            tally.finished(now, [row[_AFTER_REPORT + 2 :] for row in rows])  # past stat and errcode
            if len(rows) < len(chunk):
                not_submitted.extend(set(chunk).difference(row[0] for row in rows))
            continue
        # SQLite has one writer at a time, so reading, then writing, is as safe and several times
        # cheaper than the correlated statement (this runs for every receipt).
        parts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        rows = execute_for_ids(conn, _PARTS_OF, chunk).all()
        for message_id, part, stat, err in rows:
            parts[message_id].append((part, stat, err))
        finals: dict[tuple[str, str], list[int]] = defaultdict(list)
        for message_id, its_parts in parts.items():
            found = _final_stat(its_parts)
            if found is not None:
                finals[found].append(message_id)
        for (stat, err), final_ids in finals.items():
            state = _STATE_OF_STAT.get(stat, UNDELIVERED)
            rows = execute_for_ids(conn, _SET_FINAL, final_ids, state, stat, err, now).all()
            reports.extend(_report(row, stat, err, now) for row in rows)
            tally.finished(now, [row[_AFTER_REPORT:] for row in rows])
            if len(rows) < len(final_ids):
                not_submitted.extend(set(final_ids).difference(row[0] for row in rows))
    if not_submitted:
        _record_late_receipts(conn, sorted(not_submitted))
    reports.sort(key=lambda r: int(r[1]["reportid"]))
    enqueue_reports(conn, reports, now)
    return len(reports)


_TIMED_OUT = f"SELECT id FROM {messages.name} WHERE id IN ({{ids}}) AND state || '' = '{UNKNOWN}'"
_SET_LATE_STAT = (
    f"UPDATE {messages.name} SET stat = ?, errcode = ? WHERE id IN ({{ids}}) AND state || '' = '{UNKNOWN}'"
)


def _record_late_receipts(conn: sa.Connection, message_ids: Sequence[int]) -> None:
    """Receipts that completed a message after its receipt timeout: the message keeps its state and
    its one report (UNKNOWN), and takes the receipts' word, which its status query then shows."""
    timed_out = [row[0] for chunk in chunks(message_ids) for row in execute_for_ids(conn, _TIMED_OUT, chunk)]
    parts: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for chunk in chunks(timed_out):
        for message_id, part, stat, err in execute_for_ids(conn, _PARTS_OF, chunk):
            parts[message_id].append((part, stat, err))
    words: dict[tuple[str, str], list[int]] = defaultdict(list)
    for message_id, its_parts in parts.items():
        found = _final_stat(its_parts)
        if found is not None:
            words[found].append(message_id)
    for (stat, err), ids in words.items():
        for chunk in chunks(ids):
            execute_for_ids(conn, _SET_LATE_STAT, chunk, stat, err)


def _apply_early_receipts(
    conn: sa.Connection, stored: Sequence[Submitted], now: int, tally: Tally
) -> tuple[int, int]:
    """Apply kept receipts for the parts just inserted; returns (receipts applied, messages finished)."""
    keys = ((o.connector, remote_id) for o in stored for remote_id in o.remote_ids)
    rows: list[Any] = []
    for connector, remote_ids in _by_connector(keys).items():
        for chunk in chunks(remote_ids):
            rows.extend(execute_for_ids(conn, _KEPT_BY_REMOTE_ID, chunk, connector).all())
    return _apply_kept(conn, rows, now, tally)


def rematch_receipts(conn: sa.Connection, now: int, since: int, limit: int = 1000) -> tuple[int, int]:
    """Apply receipts kept since `since` whose part exists by now; returns (receipts applied,
    messages finished).

    Catches what `record_results` could not see: a receipt stored by a transaction that ran side by
    side with the one inserting its part. Only PostgreSQL runs writers side by side; on SQLite one
    transaction always sees the other's work, and there is nothing to catch.
    """
    kept = unmatched_receipts.c
    has_part = (
        sa.select(message_parts.c.id)
        .join(messages, messages.c.id == message_parts.c.message_id)
        .where(
            message_parts.c.connector == kept.connector,
            message_parts.c.remote_id == kept.remote_id,
            sa.or_(kept.destination == "", messages.c.mobile == kept.destination),
        )
        .exists()
    )
    query = (
        sa.select(unmatched_receipts)
        .where(kept.received_at >= since, has_part)
        .order_by(unmatched_receipts.c.id)
        .limit(limit)
    )
    rows = conn.execute(query).all()
    tally = Tally()
    found = _apply_kept(conn, rows, now, tally)
    tally.write(conn)
    return found


def _apply_kept(conn: sa.Connection, rows: Sequence[Any], now: int, tally: Tally) -> tuple[int, int]:
    if not rows:
        return 0, 0
    kept = [
        (row.id, ReceiptIn(row.connector, row.remote_id, row.stat, row.err, row.destination)) for row in rows
    ]
    matched, _ = _match(conn, [receipt for _, receipt in kept])
    if not matched:
        return 0, 0
    found = {id(receipt) for receipt, _ in matched}
    done = [row_id for row_id, receipt in kept if id(receipt) in found]
    for chunk in chunks(done):
        conn.execute(sa.delete(unmatched_receipts).where(unmatched_receipts.c.id.in_(chunk)))
    applied, _, finished = _settle(conn, matched, now, tally)
    return applied, finished


def purge_unmatched(conn: sa.Connection, before: int) -> int:
    """Forget kept receipts older than `before`: they belong to no message of ours."""
    result = conn.execute(sa.delete(unmatched_receipts).where(unmatched_receipts.c.received_at < before))
    return int(result.rowcount)


# --- replies (MO) --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundIn:
    """A reply from a subscriber, and the source number of the connector it came through."""

    connector: str
    source_number: str
    mobile: str
    destination: str
    text: str


@dataclass(frozen=True, slots=True)
class StoredReply:
    id: int  # the replyid
    account_id: int | None  # None: no sub-account could be found
    opted_out: bool


def store_inbound(conn: sa.Connection, items: Sequence[InboundIn], now: int) -> list[StoredReply]:
    """Store replies, each with its sub-account; enqueue the reply callback; record opt-outs."""
    stored: list[StoredReply] = []
    for item in items:
        # Whatever the SMSC sent must fit: a reply refused by the store would be redelivered forever.
        mobile = (normalize_mobile(item.mobile) or item.mobile)[:20]
        found = _account_by_extension(conn, item.source_number, item.destination)
        if found is None:
            found = _last_sender(conn, mobile)
        account_id, customer_id = found if found is not None else (None, None)
        reply_id = conn.execute(
            sa.insert(inbound)
            .values(
                customer_id=customer_id,
                account_id=account_id,
                mobile=mobile,
                destination=item.destination[:32],
                content=item.text,
                connector=item.connector[:64],
                received_at=now,
            )
            .returning(inbound.c.id)
        ).scalar_one()
        opted_out = False
        if account_id is not None:
            enqueue_reply(
                conn,
                account_id,
                {
                    "replyid": str(reply_id),
                    "accountid": str(account_id),
                    "mobile": mobile,
                    "content": item.text,
                    "receivetime": local_time(now),
                },
                now,
            )
            if is_opt_out_reply(item.text):
                _opt_out(conn, account_id, mobile, now)
                opted_out = True
        stored.append(StoredReply(reply_id, account_id, opted_out))
    return stored


def _extension_candidates(source_number: str, destination: str) -> list[str]:
    """What may be an extension in `destination`, longest first (digits after the extension are the
    subscriber's own, which some SMSCs pass on)."""
    if not destination.startswith(source_number):
        return []
    rest = destination[len(source_number) :]
    return [rest[:end] for end in range(len(rest), 0, -1)]


def _account_by_extension(
    conn: sa.Connection, source_number: str, destination: str
) -> tuple[int, int] | None:
    candidates = _extension_candidates(source_number, destination)
    if not candidates:
        return None
    rows = conn.execute(
        sa.select(accounts.c.id, accounts.c.customer_id, accounts.c.extension).where(
            accounts.c.extension.in_(candidates)
        )
    ).all()
    if not rows:
        return None
    best = max(rows, key=lambda r: len(r.extension))
    return int(best.id), int(best.customer_id)


def _last_sender(conn: sa.Connection, mobile: str) -> tuple[int, int] | None:
    """The sub-account that last sent to `mobile`.

    Asked per sub-account, the (account_id, mobile) index answers it without reading the outbox.
    """
    row = conn.execute(
        sa.select(messages.c.account_id, messages.c.customer_id)
        .where(
            messages.c.account_id.in_(sa.select(accounts.c.id).scalar_subquery()), messages.c.mobile == mobile
        )
        .order_by(messages.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row.account_id), int(row.customer_id))


def _opt_out(conn: sa.Connection, account_id: int, mobile: str, now: int) -> None:
    values = {"account_id": account_id, "mobile": mobile, "created_at": now}
    if _is_postgres(conn):
        conn.execute(postgresql.insert(optouts).values(values).on_conflict_do_nothing())
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite.insert(optouts).values(values).on_conflict_do_nothing())
    elif (
        conn.execute(
            sa.select(optouts.c.mobile).where(optouts.c.account_id == account_id, optouts.c.mobile == mobile)
        ).first()
        is None
    ):
        conn.execute(sa.insert(optouts).values(values))
