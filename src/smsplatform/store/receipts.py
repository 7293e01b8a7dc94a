"""Status reports on the outbox: each one sets its segment's word, and a message whose segments all
have one ends, with one report to its customer.

A receipt is matched only among the parts of the connector it came through (message ids are unique
per SMSC at best), and only to a part sent to the number it names. One that arrives before its
submit result was committed finds no part yet; it is stored in `unmatched_receipts` (and the SMSC is
acknowledged), applied when `record_results` inserts its part (`apply_early_receipts`), and swept up
by `rematch_receipts` for the cases where the two transactions ran side by side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.message_states import (
    DELIVRD,
    INTERMEDIATE_STATS,
    STATE_OF_STAT,
    SUBMITTED,
    UNDELIVERED,
    UNKNOWN,
    message_stat,
    state_of_stat,
)
from smsplatform.domain.numbers import normalize_mobile
from smsplatform.store.callbacks import enqueue_reports
from smsplatform.store.driver import CHUNK, chunks, execute_for_ids
from smsplatform.store.message_rows import (
    AFTER_REPORT,
    ERR_LEN,
    ID_LEN,
    REPORT_COLUMNS,
    STAT_LEN,
    TALLY_COLUMNS,
    ids_param,
    is_postgres,
    leaving_by_id,
    leaving_by_id_sql,
    report_of,
)
from smsplatform.store.rollups import Tally
from smsplatform.store.schema import message_parts, messages, unmatched_receipts

# Every state a final status word may end a message in.
_ENDINGS = (*STATE_OF_STAT.values(), UNDELIVERED)


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
    matched, unmatched, locked = _match(conn, final)
    if unmatched:
        conn.execute(
            sa.insert(unmatched_receipts),
            [
                {
                    "connector": r.connector,
                    "remote_id": r.remote_id[:ID_LEN],
                    "stat": r.stat[:STAT_LEN],
                    "err": r.err[:ERR_LEN],
                    "received_at": now,
                    "destination": _mobile(r.destination),
                }
                for r in unmatched
            ],
        )
    tally = Tally()
    applied, duplicates, finished = _settle(conn, matched, now, tally, locked=locked)
    tally.write(conn)
    return ReceiptSummary(applied, duplicates, len(receipts) - len(final), len(unmatched), finished)


_PARTS_BY_REMOTE_ID = (
    f"SELECT p.remote_id, p.id, p.message_id, m.mobile, p.stat FROM {message_parts.name} p"
    f" JOIN {messages.name} m ON m.id = p.message_id WHERE p.connector = ? AND p.remote_id IN ({{ids}})"
)
# On PostgreSQL, when one statement finds every candidate, it also takes their messages' row locks (see
# `_settle`), in id order as the separate lock does: one statement fewer for every batch of receipts.
_PARTS_BY_REMOTE_ID_LOCKING = _PARTS_BY_REMOTE_ID + " ORDER BY m.id FOR UPDATE OF m"
# One statement per distinct (stat, err) of a batch: nearly all receipts share one.
_SET_PART_STATE = f"UPDATE {message_parts.name} SET stat = ?, err = ? WHERE id IN ({{ids}}) AND stat = ''"
# PostgreSQL sets every part of a batch in one statement, whatever their words: one array per column.
_SET_PART_STATES = (
    f"UPDATE {message_parts.name} p SET stat = v.stat, err = v.err"
    " FROM unnest(%b::bigint[], %b::text[], %b::text[]) AS v(id, stat, err)"
    " WHERE p.id = v.id AND p.stat = ''"
)
_LOCK_MESSAGES = (
    sa.select(messages.c.id).where(messages.c.id.in_(ids_param())).order_by(messages.c.id).with_for_update()
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
        *((stat == word, state.value) for word, state in STATE_OF_STAT.items()),
        else_=UNDELIVERED.value,
    )
    open_part = sa.exists().where(own_parts, message_parts.c.stat == "")
    return (
        sa.update(messages)
        .where(messages.c.id.in_(ids_param()), leaving_by_id(SUBMITTED, to=_ENDINGS), ~open_part)
        .values(
            state=state,
            stat=stat,
            errcode=sa.func.coalesce(first(message_parts.c.err, failed), first(message_parts.c.err), ""),
            done_at=sa.bindparam("b_now"),
        )
        .returning(*REPORT_COLUMNS, messages.c.stat, messages.c.errcode, *TALLY_COLUMNS)
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
        grouped[connector].add(remote_id[:ID_LEN])
    return {connector: sorted(ids) for connector, ids in grouped.items()}


def _match(
    conn: sa.Connection, receipts: Sequence[ReceiptIn]
) -> tuple[list[tuple[ReceiptIn, _Part]], list[ReceiptIn], bool]:
    """Each receipt's part among the parts its own connector recorded under its id.

    Message ids are unique per SMSC at best (SMPP 3.4 §4.4.2; CMPP, SGIP and SMGP per gateway): another
    connector's part is never a candidate, whatever it recorded under the same id. Within a connector
    one id can still name two messages (an SMSC that restarted and counts again; two processes of one
    SGIP node), so a receipt that names its number takes only a part sent to that number, and one
    whose own part is not recorded yet waits for it (unmatched) rather than land on the other. Among
    the parts left: open before final, newer before older.

    The flag says whether the candidates' messages are locked already (PostgreSQL, one statement).
    """
    candidates: dict[tuple[str, str], list[_Part]] = defaultdict(list)
    grouped = _by_connector((r.connector, r.remote_id) for r in receipts)
    # Locks taken by several statements would not be in one id order: then `_settle` takes them.
    locked = is_postgres(conn) and len(grouped) == 1 and all(len(ids) <= CHUNK for ids in grouped.values())
    statement = _PARTS_BY_REMOTE_ID_LOCKING if locked else _PARTS_BY_REMOTE_ID
    for connector, remote_ids in grouped.items():
        for chunk in chunks(remote_ids):
            for row in execute_for_ids(conn, statement, chunk, connector).all():
                candidates[connector, row[0]].append(row[1:])
    matched: list[tuple[ReceiptIn, _Part]] = []
    unmatched: list[ReceiptIn] = []
    for receipt in receipts:
        parts = candidates.get((receipt.connector, receipt.remote_id[:ID_LEN]))
        if parts and receipt.destination:
            mobile = _mobile(receipt.destination)
            if mobile:
                parts = [part for part in parts if part[2] == mobile]
        if not parts:
            unmatched.append(receipt)
            continue
        matched.append((receipt, parts[0] if len(parts) == 1 else max(parts, key=_preference)))
    return matched, unmatched, locked


def _preference(part: _Part) -> tuple[bool, int]:
    part_id, _, _, stat = part
    return stat == "", part_id


def _settle(
    conn: sa.Connection,
    matched: Sequence[tuple[ReceiptIn, _Part]],
    now: int,
    tally: Tally,
    *,
    locked: bool = False,
) -> tuple[int, int, int]:
    """Apply matched receipts; returns (applied, duplicates, messages finished). `locked`: their
    messages' rows are locked already."""
    parts_by_outcome: dict[tuple[str, str], list[int]] = defaultdict(list)
    seen: set[int] = set()
    touched: set[int] = set()
    for receipt, (part_id, message_id, _, stat) in matched:
        if stat or part_id in seen:
            continue
        seen.add(part_id)
        touched.add(message_id)
        parts_by_outcome[receipt.stat[:STAT_LEN], receipt.err[:ERR_LEN]].append(part_id)
    if not seen:
        return 0, len(matched), 0
    message_ids = sorted(touched)
    if is_postgres(conn) and not locked:
        # Two receipts of one long message settled side by side would each see only their own part
        # final: the message row lock makes the second wait for the first, then see both.
        for chunk in chunks(message_ids):
            conn.execute(_LOCK_MESSAGES, {"b_ids": chunk}).all()
    if is_postgres(conn):
        ids = [part_id for part_ids in parts_by_outcome.values() for part_id in part_ids]
        stats = [stat for (stat, _), part_ids in parts_by_outcome.items() for _ in part_ids]
        errs = [err for (_, err), part_ids in parts_by_outcome.items() for _ in part_ids]
        applied = conn.exec_driver_sql(_SET_PART_STATES, (ids, stats, errs)).rowcount
    else:
        applied = sum(
            execute_for_ids(conn, _SET_PART_STATE, chunk, stat, err).rowcount
            for (stat, err), part_ids in parts_by_outcome.items()
            for chunk in chunks(part_ids)
        )
    finished = _finish_messages(conn, message_ids, now, tally)
    return applied, len(matched) - applied, finished


_PARTS_OF = f"SELECT message_id, part, stat, err FROM {message_parts.name} WHERE message_id IN ({{ids}})"
# One statement per distinct (stat, errcode) of a batch.
_SET_FINAL = (
    f"UPDATE {messages.name} SET state = ?, stat = ?, errcode = ?, done_at = ?"
    f" WHERE id IN ({{ids}}) AND {leaving_by_id_sql(SUBMITTED, to=_ENDINGS)}"
    f" RETURNING {', '.join(column.name for column in (*REPORT_COLUMNS, *TALLY_COLUMNS))}"
)


def _finish_messages(conn: sa.Connection, message_ids: Sequence[int], now: int, tally: Tally) -> int:
    """Make final the messages whose parts all have a final state; enqueue one report each."""
    reports: list[tuple[int, Mapping[str, str]]] = []
    not_submitted: list[int] = []  # complete, but no longer `submitted`: perhaps timed out
    for chunk in chunks(message_ids):
        if is_postgres(conn):
            # Writers run side by side here: one statement decides and changes each row under its lock.
            rows = conn.execute(_FINISH, {"b_ids": chunk, "b_now": now}).all()
            reports.extend(report_of(row, row.stat, row.errcode, now) for row in rows)
            tally.finished(now, [row[AFTER_REPORT + 2 :] for row in rows])  # past stat and errcode
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
            found = message_stat(its_parts)
            if found is not None:
                finals[found].append(message_id)
        for (stat, err), final_ids in finals.items():
            state = state_of_stat(stat).value
            rows = execute_for_ids(conn, _SET_FINAL, final_ids, state, stat, err, now).all()
            reports.extend(report_of(row, stat, err, now) for row in rows)
            tally.finished(now, [row[AFTER_REPORT:] for row in rows])
            if len(rows) < len(final_ids):
                not_submitted.extend(set(final_ids).difference(row[0] for row in rows))
    if not_submitted:
        _record_late_receipts(conn, sorted(not_submitted))
    reports.sort(key=lambda r: int(r[1]["reportid"]))
    enqueue_reports(conn, reports, now)
    return len(reports)


# A message that timed out keeps its state: only its word changes.
_TIMED_OUT = f"SELECT id FROM {messages.name} WHERE id IN ({{ids}}) AND state || '' = '{UNKNOWN.value}'"
_SET_LATE_STAT = (
    f"UPDATE {messages.name} SET stat = ?, errcode = ?"
    f" WHERE id IN ({{ids}}) AND state || '' = '{UNKNOWN.value}'"
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
        found = message_stat(its_parts)
        if found is not None:
            words[found].append(message_id)
    for (stat, err), ids in words.items():
        for chunk in chunks(ids):
            execute_for_ids(conn, _SET_LATE_STAT, chunk, stat, err)


def apply_early_receipts(
    conn: sa.Connection, keys: Iterable[tuple[str, str]], now: int, tally: Tally
) -> tuple[int, int]:
    """Apply kept receipts for parts just inserted, given as (connector, remote id) pairs; returns
    (receipts applied, messages finished)."""
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
    matched, _, locked = _match(conn, [receipt for _, receipt in kept])
    if not matched:
        return 0, 0
    found = {id(receipt) for receipt, _ in matched}
    done = [row_id for row_id, receipt in kept if id(receipt) in found]
    for chunk in chunks(done):
        conn.execute(sa.delete(unmatched_receipts).where(unmatched_receipts.c.id.in_(chunk)))
    applied, _, finished = _settle(conn, matched, now, tally, locked=locked)
    return applied, finished


def purge_unmatched(conn: sa.Connection, before: int) -> int:
    """Forget kept receipts older than `before`: they belong to no message of ours."""
    result = conn.execute(sa.delete(unmatched_receipts).where(unmatched_receipts.c.received_at < before))
    return int(result.rowcount)
