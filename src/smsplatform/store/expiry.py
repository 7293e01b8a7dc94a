"""Ending submitted messages whose status report never came: the receipt timeout.

A message the SMSC took waits `submitted` for its report; a carrier that loses it (or a simulator that
died holding it) would leave it so for good, and its customer without a report. Housekeeping calls
`time_out_receipts`, which ends such messages `unknown` after the receipt timeout (per connector when
its `receipt_timeout` option says so), each with its one report: `UNKNOWN`, errcode `TIMEOUT`. A
receipt that comes later still sets its part and the message's word (store/receipts.py), but no second
report. Nothing is refunded: the carrier took the message.

The sweep reads only what it ends: the submitted messages' partial index, ordered by connector and
time of submission, gives each connector's overdue messages oldest first, and its distinct connectors
one seek each. A message whose report came is out of that index.

Messages that were never submitted expire by their kind's maximum age when the dispatcher takes them
(`ClaimedMessage.expires_at`; dispatch/submitter.py): a retry is never scheduled past that moment, so
the queued messages' index brings each one up in time, and no sweep of its own is needed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.expiry import RECEIPT_TIMEOUT_OPTION, TIMEOUT_ERRCODE, UNKNOWN_STAT, parse_seconds
from smsplatform.domain.message_states import SUBMITTED, UNKNOWN
from smsplatform.store.callbacks import enqueue_reports
from smsplatform.store.message_rows import (
    AFTER_REPORT,
    REPORT_COLUMNS,
    TALLY_COLUMNS,
    in_state,
    is_postgres,
    leaving,
    leaving_by_id,
    report_of,
)
from smsplatform.store.rollups import Tally
from smsplatform.store.schema import connectors, messages

log = logging.getLogger(__name__)

BATCH = 1000  # messages ended per sweep, over all connectors: one short write


def _next_connector() -> sa.Select[Any]:
    """The first connector after `b_after` that has a message awaiting its report (one index seek)."""
    return (
        sa.select(messages.c.connector)
        .where(in_state(SUBMITTED), messages.c.connector > sa.bindparam("b_after"))
        .order_by(messages.c.connector)
        .limit(1)
    )


def _time_out_statement(*, skip_locked: bool) -> sa.Update:
    overdue = (
        sa.select(messages.c.id)
        .where(
            leaving(SUBMITTED, UNKNOWN),
            messages.c.connector == sa.bindparam("b_connector"),
            messages.c.submitted_at < sa.bindparam("b_before"),
        )
        .order_by(messages.c.submitted_at)
        .limit(sa.bindparam("b_limit"))
    )
    chosen: sa.ScalarSelect[Any] = overdue.scalar_subquery()
    if skip_locked:
        # PostgreSQL: a message a receipt is settling right now is left to the receipt. Chosen once,
        # in a CTE: as a subquery, a nested loop may run it again per row, each run skipping the rows
        # the last one locked, and end more than the limit.
        locked = overdue.with_for_update(skip_locked=True).cte("overdue").prefix_with("MATERIALIZED")
        chosen = sa.select(locked.c.id).scalar_subquery()
    return (
        sa.update(messages)
        .where(messages.c.id.in_(chosen), leaving_by_id(SUBMITTED, to=[UNKNOWN]))
        .values(
            state=UNKNOWN.value, stat=UNKNOWN_STAT, errcode=TIMEOUT_ERRCODE, done_at=sa.bindparam("b_now")
        )
        .returning(*REPORT_COLUMNS, *TALLY_COLUMNS)
    )


_NEXT_CONNECTOR = _next_connector()
_TIME_OUT = _time_out_statement(skip_locked=False)
_TIME_OUT_SKIP_LOCKED = _time_out_statement(skip_locked=True)


def receipt_timeouts(conn: sa.Connection) -> dict[str, int]:
    """The connectors whose `receipt_timeout` option overrides the platform's, in seconds."""
    found: dict[str, int] = {}
    for name, options in conn.execute(sa.select(connectors.c.name, connectors.c.options)):
        raw = json.loads(options or "{}").get(RECEIPT_TIMEOUT_OPTION)
        if raw is None:
            continue
        try:
            found[name] = parse_seconds(str(raw))
        except ValueError as exc:
            log.warning("connector %s: option %s ignored: %s", name, RECEIPT_TIMEOUT_OPTION, exc)
    return found


def time_out_receipts(
    conn: sa.Connection,
    now: int,
    timeout: int,
    overrides: Mapping[str, int] | None = None,
    limit: int = BATCH,
) -> int:
    """End as `unknown`, with one report each, up to `limit` messages submitted more than `timeout`
    seconds ago (their connector's override, when it has one) without a final report. Returns how
    many; `limit` of them means more may be overdue."""
    if overrides is None:
        overrides = receipt_timeouts(conn)
    statement = _TIME_OUT_SKIP_LOCKED if is_postgres(conn) else _TIME_OUT
    reports: list[tuple[int, Mapping[str, str]]] = []
    tally = Tally()
    after = ""
    while len(reports) < limit:
        connector: str | None = conn.execute(_NEXT_CONNECTOR, {"b_after": after}).scalar()
        if connector is None:
            break
        after = connector
        params = {
            "b_connector": connector,
            "b_before": now - overrides.get(connector, timeout),
            "b_limit": limit - len(reports),
            "b_now": now,
        }
        rows = conn.execute(statement, params).all()
        reports.extend(report_of(row, UNKNOWN_STAT, TIMEOUT_ERRCODE, now) for row in rows)
        # No report latency: a timeout is not a report (submitted_at None leaves the histogram alone).
        tally.finished(now, [(*row[AFTER_REPORT:-1], None) for row in rows])
    reports.sort(key=lambda r: int(r[1]["reportid"]))
    enqueue_reports(conn, reports, now)
    tally.write(conn)
    return len(reports)
