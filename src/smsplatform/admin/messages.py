"""Finding a message and following it: search, its whole story, and searches exported as CSV.

The searches are keyset pages over indexes (`store/search.py` says which and why), fast on tables of
tens of millions of messages.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin.actors import Actor, Permission
from smsplatform.domain.numbers import normalize_mobile
from smsplatform.store import search as store
from smsplatform.store.clock import format_time
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound
from smsplatform.store.retention import stored_reach
from smsplatform.store.search import (
    CallbackRecord,
    MessageFilter,
    MessagePage,
    MessageRow,
    PartRecord,
    SubmitErrorRecord,
)

__all__ = [
    "CallbackRecord",
    "MessageDetail",
    "MessagePage",
    "MessageRow",
    "PartRecord",
    "SubmitErrorRecord",
    "TimelineEvent",
    "csv_header",
    "export_csv",
    "search",
    "show",
    "stream_csv",
]

EXPORT_MAX_ROWS = 100_000
_EXPORT_CHUNK = 1000


def search_mobile(raw: str) -> str:
    """The number as messages keep it: 11 digits when it is a mainland mobile number in any accepted
    spelling (+86…), else as typed (replies may come from other numbers)."""
    text = raw.strip()
    if not text:
        raise ValueError("a number to search for is empty")
    return normalize_mobile(text) or text


def _filter(
    *,
    msgid: int | None,
    mobile: str | None,
    customer_id: int | None,
    account_id: int | None,
    carrier: str | None,
    connector: str | None,
    state: str | None,
    since: int | None,
    until: int | None,
) -> MessageFilter:
    where = MessageFilter(
        msgid=msgid,
        mobile=None if mobile is None else search_mobile(mobile),
        customer_id=customer_id,
        account_id=account_id,
        carrier=carrier or None,
        connector=connector or None,
        state=state or None,
        since=since,
        until=until,
    )
    where.check()
    return where


def search(
    conn: sa.Connection,
    actor: Actor,
    *,
    msgid: int | None = None,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    carrier: str | None = None,
    connector: str | None = None,
    state: str | None = None,
    since: int | None = None,
    until: int | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> MessagePage:
    """Messages matching every filter given, newest first; page on with the page's `next_before_id`.

    `msgid` is the send's id (what the customer was answered and finds in its status reports);
    `since`/`until` bound the acceptance time, unix seconds, `until` exclusive. The page says how far
    back the store reaches (the retention the platform's rounds enforce).
    """
    actor.require(Permission.VIEW)
    where = _filter(
        msgid=msgid,
        mobile=mobile,
        customer_id=customer_id,
        account_id=account_id,
        carrier=carrier,
        connector=connector,
        state=state,
        since=since,
        until=until,
    )
    page = store.find_messages(conn, where, limit=limit, before_id=before_id)
    kept = stored_reach(conn, int(time.time()))
    return dataclasses.replace(page, kept_days=kept.days, kept_since=kept.since)


# --- one message ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One step of a message's story. `event` is one of: accepted, submit_failed, submitted, report,
    finished (final without a status report), callback_failed, callback_done, callback_dead,
    callback_waiting (the next attempt is due at `at`)."""

    at: int | None
    event: str
    detail: str


@dataclass(frozen=True, slots=True)
class MessageDetail:
    id: int
    msgid: int
    customer_id: int
    customer_name: str
    account_id: int
    account_signature: str
    account_company: str
    mobile: str
    content: str
    kind: str
    segments: int
    fee: int  # segments billed
    carrier: str
    connector: str  # the last one it was tried on, "" for none
    state: str
    stat: str  # the status report's state (DELIVRD, UNDELIV, …), "" before one came
    errcode: str
    attempts: int
    maybe_sent: int  # attempts whose outcome at the carrier is unknown: each may have sent a duplicate
    created_at: int
    submitted_at: int | None
    done_at: int | None
    parts: list[PartRecord]  # acknowledged segments: connector, carrier message id, receipt
    submit_errors: list[SubmitErrorRecord]  # attempts that were not acknowledged
    callbacks: list[CallbackRecord]  # its status report to the customer's statusurl, with failed tries
    timeline: list[TimelineEvent]


def _timeline(
    message: store.MessageRecord,
    parts: list[PartRecord],
    errors: list[SubmitErrorRecord],
    reports: list[CallbackRecord],
) -> list[TimelineEvent]:
    # (time, step order, event): at one second, accepted comes before submitted before the report.
    events: list[tuple[int, int, TimelineEvent]] = []

    def add(at: int | None, order: int, event: str, detail: str) -> None:
        events.append((at if at is not None else 2**62, order, TimelineEvent(at, event, detail)))

    add(message.created_at, 0, "accepted", f"{message.segments} segment(s), {message.carrier}")
    for e in errors:
        where = f"{e.connector}: " if e.connector else ""
        add(e.at, 1, "submit_failed", f"attempt {e.attempt}, {e.outcome}: {where}{e.error}")
    if parts:
        ids = ", ".join(p.remote_id for p in parts)
        add(message.submitted_at, 2, "submitted", f"{parts[0].connector}: {ids}")
    if message.done_at is not None:
        receipts = [p for p in parts if p.stat]
        if receipts:
            detail = " ".join(part for part in (message.stat, message.errcode) if part)
            add(message.done_at, 3, "report", detail or message.state)
        else:
            detail = f"{message.state} {message.errcode}".strip()
            add(message.done_at, 3, "finished", detail)
    for callback in reports:
        for failure in callback.errors:
            add(failure.at, 4, "callback_failed", f"attempt {failure.attempt}: {failure.error}")
        if callback.state == "done":
            add(callback.done_at, 5, "callback_done", f"attempt {callback.attempts}")
        elif callback.state == "dead":
            add(callback.done_at, 5, "callback_dead", callback.last_error)
        else:
            add(callback.next_attempt_at, 5, "callback_waiting", callback.last_error)
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]


def show(conn: sa.Connection, actor: Actor, message_id: int) -> MessageDetail:
    """Everything known of one message (by its own id, the status report's `reportid`)."""
    actor.require(Permission.VIEW)
    message = store.get_message(conn, message_id)
    if message is None:
        raise NotFound(f"no message {message_id}")
    parts = store.parts_of(conn, message_id)
    errors = store.submit_errors_of(conn, message_id)
    reports = store.callbacks_of(conn, message_id)
    label = store.account_labels(conn, [message.account_id]).get(message.account_id)
    return MessageDetail(
        id=message.id,
        msgid=message.send_id,
        customer_id=message.customer_id,
        customer_name=store.customer_names(conn, [message.customer_id]).get(message.customer_id, ""),
        account_id=message.account_id,
        account_signature=label.signature if label else "",
        account_company=label.company if label else "",
        mobile=message.mobile,
        content=message.content,
        kind=message.kind,
        segments=message.segments,
        fee=message.segments,
        carrier=message.carrier,
        connector=message.connector or "",
        state=message.state,
        stat=message.stat,
        errcode=message.errcode,
        attempts=message.attempts,
        maybe_sent=message.maybe_sent,
        created_at=message.created_at,
        submitted_at=message.submitted_at,
        done_at=message.done_at,
        parts=parts,
        submit_errors=errors,
        callbacks=reports,
        timeline=_timeline(message, parts, errors, reports),
    )


# --- CSV ------------------------------------------------------------------------------------------

_CSV_HEADER = (
    "id",
    "msgid",
    "created",
    "customer_id",
    "customer",
    "account_id",
    "signature",
    "mobile",
    "kind",
    "carrier",
    "connector",
    "segments",
    "state",
    "stat",
    "errcode",
    "submitted",
    "done",
    "content",
)


def _cell(text: str) -> str:
    """Text a spreadsheet would take for a formula is written as text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_line(values: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def csv_header() -> str:
    return _csv_line(list(_CSV_HEADER))


def _row_line(row: MessageRow) -> str:
    return _csv_line(
        [
            row.id,
            row.msgid,
            format_time(row.created_at),
            row.customer_id,
            _cell(row.customer_name),
            row.account_id,
            _cell(row.account_signature),
            row.mobile,
            row.kind,
            row.carrier,
            row.connector,
            row.segments,
            row.state,
            row.stat,
            row.errcode,
            format_time(row.submitted_at),
            format_time(row.done_at),
            _cell(row.preview),
        ]
    )


@dataclass(frozen=True, slots=True)
class _CsvChunk:
    lines: list[str]
    next_before_id: int | None  # where the next chunk starts; None: the export is complete


@dataclass(slots=True)
class _ExportCursor:
    """Where an export stands, for the chunk reads of `export_csv` and `stream_csv` alike."""

    max_rows: int
    written: int = 0
    before_id: int | None = None
    complete: bool = False

    def next_limit(self) -> int | None:
        """Rows the next chunk asks for; None when the export is done."""
        if self.complete or self.written >= self.max_rows:
            return None
        return min(_EXPORT_CHUNK, self.max_rows - self.written)

    def took(self, chunk: _CsvChunk) -> list[str]:
        self.written += len(chunk.lines)
        self.before_id = chunk.next_before_id
        self.complete = chunk.next_before_id is None
        return chunk.lines


def _csv_chunk(
    conn: sa.Connection, actor: Actor, where: MessageFilter, limit: int, before_id: int | None
) -> _CsvChunk:
    actor.require(Permission.VIEW)
    page = store.find_messages(conn, where, limit=limit, before_id=before_id, whole_content=True)
    return _CsvChunk([_row_line(row) for row in page.rows], page.next_before_id)


def export_csv(
    conn: sa.Connection,
    actor: Actor,
    *,
    msgid: int | None = None,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    carrier: str | None = None,
    connector: str | None = None,
    state: str | None = None,
    since: int | None = None,
    until: int | None = None,
    max_rows: int = EXPORT_MAX_ROWS,
) -> Iterator[str]:
    """The search as CSV lines with a header, newest message first, at most `max_rows`, with each
    message's whole content. Read in keyset chunks as the lines are consumed: consume it while `conn`
    is open (the web faces use `stream_csv`)."""
    actor.require(Permission.VIEW)  # a refused actor or a bad filter fails here, before any line
    where = _filter(
        msgid=msgid,
        mobile=mobile,
        customer_id=customer_id,
        account_id=account_id,
        carrier=carrier,
        connector=connector,
        state=state,
        since=since,
        until=until,
    )
    return _export(conn, actor, where, max_rows)


def _export(conn: sa.Connection, actor: Actor, where: MessageFilter, max_rows: int) -> Iterator[str]:
    yield csv_header()
    cursor = _ExportCursor(max_rows)
    while (limit := cursor.next_limit()) is not None:
        yield from cursor.took(_csv_chunk(conn, actor, where, limit, cursor.before_id))


async def stream_csv(
    db: Database,
    actor: Actor,
    *,
    msgid: int | None = None,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    carrier: str | None = None,
    connector: str | None = None,
    state: str | None = None,
    since: int | None = None,
    until: int | None = None,
    max_rows: int = EXPORT_MAX_ROWS,
) -> AsyncIterator[str]:
    """`export_csv` for the web faces: each chunk is its own short `db.read`, so a slow download holds
    no connection between chunks. A refused actor or a bad filter raises at the first `__anext__`,
    before any line (so a face can await the first line before it starts its response)."""
    actor.require(Permission.VIEW)
    where = _filter(
        msgid=msgid,
        mobile=mobile,
        customer_id=customer_id,
        account_id=account_id,
        carrier=carrier,
        connector=connector,
        state=state,
        since=since,
        until=until,
    )
    yield csv_header()
    cursor = _ExportCursor(max_rows)
    while (limit := cursor.next_limit()) is not None:
        for line in cursor.took(await db.read(_csv_chunk, actor, where, limit, cursor.before_id)):
            yield line
