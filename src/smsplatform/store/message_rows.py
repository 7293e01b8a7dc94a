"""What the outbox's units of work share: the guards of their state changes, the columns a status
report and the traffic figures read, the log of failed attempts, and the widths values are cut to.

Each statement that changes a message's state is guarded by the state it leaves, built here from the
moves `domain.message_states` allows: a repeated unit (a redelivered receipt, a result recorded after
its lease ran out) then changes nothing, and a move the state machine does not list cannot be written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.message_states import MessageState, moves_from
from smsplatform.domain.payloads import status_report
from smsplatform.store.driver import driver_sql
from smsplatform.store.schema import messages, submit_errors

# Column widths: values from an SMSC are cut to fit (consistently, so that receipts still match),
# since a value the store refuses would fail its whole batch, again and again.
ID_LEN = 64
ERR_LEN = 32
STAT_LEN = 16
ERROR_TEXT_LEN = 200  # submit_errors.error: the whole answer, where errcode keeps a code

# submit_errors.outcome
RETRY = "retry"
MAYBE_SENT = "maybe_sent"
GAVE_UP = "failed"


def is_postgres(conn: sa.Connection) -> bool:
    return conn.dialect.name == "postgresql"


def ids_param(name: str = "b_ids") -> sa.BindParameter[Any]:
    return sa.bindparam(name, expanding=True)


def unindexed(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """`column` in a form no index serves.

    For `id IN (...) AND state = 'queued'` SQLite may prefer the queued messages' partial index to
    the primary key and read every queued message; a term it cannot index leaves it the primary key.
    """
    return column.concat("")


def in_state(state: MessageState) -> sa.ColumnElement[bool]:
    """`messages.state = '<state>'` with the state written out: only a literal lets SQLite and
    PostgreSQL use the partial index of that state (a bound parameter could be any state)."""
    return messages.c.state == sa.literal_column(f"'{state.value}'")


def leaving(before: MessageState, after: MessageState) -> sa.ColumnElement[bool]:
    """The guard of a statement that moves messages from `before` to `after`, through the partial
    index of `before` (a scan of the messages in that state)."""
    moves_from(after, before)
    return in_state(before)


def leaving_by_id(*before: MessageState, to: Sequence[MessageState]) -> sa.ColumnElement[bool]:
    """The guard of a statement that moves messages found by id from `before` to one of `to`, in a
    form no index serves (see `unindexed`): the primary key finds them."""
    for after in to:
        moves_from(after, *before)
    state = unindexed(messages.c.state)
    if len(before) == 1:
        return state == before[0].value
    return state.in_([b.value for b in before])


def leaving_by_id_sql(*before: MessageState, to: Sequence[MessageState]) -> str:
    """`leaving_by_id` as SQL text, for the statements that go straight to the driver."""
    for after in to:
        moves_from(after, *before)
    if len(before) == 1:
        return f"state || '' = '{before[0].value}'"
    listed = ", ".join(f"'{b.value}'" for b in before)
    return f"state || '' IN ({listed})"


# What a status report reads of its message, in this order.
REPORT_COLUMNS = (
    messages.c.id,
    messages.c.send_id,
    messages.c.account_id,
    messages.c.mobile,
    messages.c.segments,
    messages.c.submitted_at,
    messages.c.created_at,
)
AFTER_REPORT = len(REPORT_COLUMNS)
# What a final message counts in the traffic figures by (see `Tally.finished`), in its order.
TALLY_COLUMNS = (
    messages.c.customer_id,
    messages.c.carrier,
    messages.c.kind,
    messages.c.connector,
    messages.c.state,
    messages.c.submitted_at,
)


def report_of(row: Sequence[Any], stat: str, errcode: str, done_at: int) -> tuple[int, dict[str, str]]:
    """The sub-account a message's status report is owed to, and the report. `row` begins with the
    `REPORT_COLUMNS`."""
    # Unpacked, not read by name: a Row's attribute lookup costs more than building the report.
    message_id, send_id, account_id, mobile, segments, submitted_at, created_at = row[:AFTER_REPORT]
    report = status_report(
        message_id, send_id, account_id, mobile, segments, stat, errcode, submitted_at or created_at, done_at
    )
    return account_id, report


_INSERT_ERROR = (
    f"INSERT INTO {submit_errors.name} (message_id, attempt, connector, outcome, error, at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def record_errors(conn: sa.Connection, rows: Sequence[tuple[int, int, str, str, str, int]]) -> None:
    """Keep attempts that did not end in an acknowledged part: rows of (message_id, attempt,
    connector, outcome, error, at). Only error paths come here."""
    if rows:
        conn.exec_driver_sql(driver_sql(conn, _INSERT_ERROR), sorted(rows))
