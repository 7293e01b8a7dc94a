"""How much work is waiting: messages queued and in flight, callbacks owed. For /metrics and the
dashboard, which ask every few seconds.

Each count walks a partial or leading-column index of the rows it counts, so it costs as much as the
backlog is long, never a pass over the message or callback history.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.domain.message_states import QUEUED, SUBMITTING
from smsplatform.store.schema import callbacks, messages


@dataclass(frozen=True, slots=True)
class Backlog:
    queued: int  # messages waiting for a dispatcher (retries not due yet included)
    in_flight: int  # messages a dispatcher claimed and has not had answered by the SMSC yet
    callbacks: int  # status reports and replies not delivered yet (retries included)


def _count(conn: sa.Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def _state_is(table: sa.Table, state: str) -> sa.ColumnElement[bool]:
    # Written out rather than bound: only a literal lets SQLite and PostgreSQL pick a partial index.
    return table.c.state == sa.literal_column(f"'{state}'")


def backlog(conn: sa.Connection) -> Backlog:
    return Backlog(
        queued=_count(conn, messages, _state_is(messages, QUEUED)),  # ix_messages_queued
        in_flight=_count(conn, messages, _state_is(messages, SUBMITTING)),  # ix_messages_leased
        callbacks=_count(conn, callbacks, _state_is(callbacks, "pending")),  # ix_callbacks_state_next
    )
