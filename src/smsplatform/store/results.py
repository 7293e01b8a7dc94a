"""Submit results on the outbox: what the SMSC took, what waits for another try, what ended before
the carrier had it.

A Submitted outcome inserts the message's parts, which the status reports are matched to; receipts
that arrived before it (kept in `unmatched_receipts`) are applied right then. A Failed one ends the
message with its one status report and refunds its segments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.message_states import QUEUED, SUBMITTED, SUBMITTING, MessageState, moves_from
from smsplatform.domain.submit_outcomes import Failed, Retry, SubmitOutcome, Submitted
from smsplatform.store.callbacks import enqueue_reports
from smsplatform.store.driver import chunks, execute_for_ids, insert_rows
from smsplatform.store.message_rows import (
    AFTER_REPORT,
    ERR_LEN,
    ERROR_TEXT_LEN,
    GAVE_UP,
    ID_LEN,
    MAYBE_SENT,
    REPORT_COLUMNS,
    RETRY,
    STAT_LEN,
    TALLY_COLUMNS,
    leaving_by_id_sql,
    record_errors,
    report_of,
)
from smsplatform.store.receipts import apply_early_receipts
from smsplatform.store.rollups import Tally
from smsplatform.store.schema import accounts, message_parts, messages


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
        keys = [(o.connector, remote_id) for o in stored for remote_id in o.remote_ids]
        early, finished = apply_early_receipts(conn, keys, now, tally)
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
        (o.message_id, index, o.connector, remote_id[:ID_LEN])
        for o in stored
        for index, remote_id in enumerate(o.remote_ids, start=1)
    ]
    if parts and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_INSERT_PART_ARRAYS, tuple(list(column) for column in zip(*parts, strict=True)))
    elif parts:
        insert_rows(conn, message_parts.name, _PART_COLUMNS, parts)
    return stored


# From `queued` too: a dispatcher whose lease ran out meanwhile still records what the SMSC took.
_MARK_SUBMITTED = (
    f"UPDATE {messages.name} SET state = '{SUBMITTED.value}', connector = ?, submitted_at = ?,"
    " lease_owner = NULL, lease_until = NULL, errcode = ''"
    f" WHERE id IN ({{ids}}) AND {leaving_by_id_sql(SUBMITTING, QUEUED, to=[SUBMITTED])}"
    " RETURNING id, customer_id, carrier, kind, created_at"
)
_PART_COLUMNS = ("message_id", "part", "connector", "remote_id")
# PostgreSQL takes the parts as one array per column: one statement, where an executemany is one
# statement per row on the server.
_INSERT_PART_ARRAYS = (
    f"INSERT INTO {message_parts.name} (message_id, part, connector, remote_id)"
    " SELECT * FROM unnest(%b::bigint[], %b::smallint[], %b::text[], %b::text[])"
)


# One statement per distinct (time, error, connector) of a batch: a throttling SMSC answers a whole
# window alike.
_REQUEUE = (
    f"UPDATE {messages.name} SET state = '{QUEUED.value}', lease_owner = NULL, lease_until = NULL,"
    " next_attempt_at = ?, errcode = ?, connector = ?, maybe_sent = maybe_sent + ?"
    f" WHERE lease_owner = ? AND id IN ({{ids}}) AND {leaving_by_id_sql(SUBMITTING, to=[QUEUED])}"
    " RETURNING id, attempts"
)


def _record_retries(conn: sa.Connection, owner: str, retries: Sequence[Retry], now: int) -> int:
    groups: dict[tuple[int, str, str | None, bool], list[int]] = defaultdict(list)
    for r in retries:
        groups[r.at, r.error, r.connector, r.maybe_sent].append(r.message_id)
    errors: list[tuple[int, int, str, str, str, int]] = []
    for (at, error, connector, maybe_sent), ids in groups.items():
        outcome, text = (MAYBE_SENT if maybe_sent else RETRY), error[:ERROR_TEXT_LEN]
        for chunk in chunks(sorted(ids)):
            params = (at, error[:ERR_LEN], connector, int(maybe_sent), owner)
            for message_id, attempt in execute_for_ids(conn, _REQUEUE, chunk, *params):
                errors.append((message_id, attempt, connector or "", outcome, text, now))
    record_errors(conn, errors)
    return len(errors)


def _record_failures(
    conn: sa.Connection, owner: str, failures: Sequence[Failed], now: int, tally: Tally
) -> int:
    reports: list[tuple[int, Mapping[str, str]]] = []
    refunds: dict[int, int] = defaultdict(int)
    errors: list[tuple[int, int, str, str, str, int]] = []
    finished: list[Sequence[Any]] = []
    for f in failures:  # rare: one statement each
        state = MessageState(f.state)
        (leaves,) = moves_from(state, SUBMITTING)
        stat, errcode = f.stat[:STAT_LEN], f.error[:ERR_LEN]
        row = conn.execute(
            sa.update(messages)
            .where(
                messages.c.id == f.message_id,
                messages.c.state == leaves.value,
                messages.c.lease_owner == owner,
            )
            .values(
                state=state.value,
                stat=stat,
                errcode=errcode,
                done_at=now,
                connector=f.connector,
                lease_owner=None,
                lease_until=None,
                maybe_sent=messages.c.maybe_sent + int(f.maybe_sent),
            )
            .returning(*REPORT_COLUMNS, messages.c.attempts, *TALLY_COLUMNS)
        ).first()
        if row is None:
            continue
        refunds[row.account_id] += row.segments
        reports.append(report_of(row, stat, errcode, now))
        errors.append((f.message_id, row.attempts, f.connector or "", GAVE_UP, f.error[:ERROR_TEXT_LEN], now))
        finished.append(row[AFTER_REPORT + 1 :])  # past the attempts
    _refund(conn, refunds)
    enqueue_reports(conn, reports, now)
    record_errors(conn, errors)
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
