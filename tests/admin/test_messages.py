"""What an operator finds about messages: searches, one message's whole story, CSV exports."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from smsplatform.admin import messages
from smsplatform.admin.actors import Actor, Role, Via, cli_actor
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound
from smsplatform.store.schema import callback_errors, callbacks, message_parts, submit_errors
from tests.store.test_search import T0, add_message, seed

ADMIN = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)


def test_a_number_is_found_in_any_spelling_a_customer_would_type(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        wanted = add_message(conn, mobile="13800138000")
        add_message(conn, mobile="13900139000")
    with db.engine.connect() as conn:
        for spelling in ("13800138000", "+8613800138000", " 008613800138000 "):
            page = messages.search(conn, REVIEWER, mobile=spelling)
            assert [r.id for r in page.rows] == [wanted], spelling
        with pytest.raises(ValueError, match="empty"):
            messages.search(conn, REVIEWER, mobile=" ")
        with pytest.raises(ValueError, match="unknown state"):
            messages.search(conn, REVIEWER, state="lost")


def test_empty_filters_from_a_form_mean_no_filter(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        ids = [add_message(conn, created_at=T0 + n) for n in range(3)]
    with db.engine.connect() as conn:
        page = messages.search(conn, REVIEWER, state="", carrier="", connector="", limit=2)
        assert [r.id for r in page.rows] == ids[:0:-1] and page.next_before_id == ids[1]
        rest = messages.search(conn, REVIEWER, limit=2, before_id=page.next_before_id)
        assert [r.id for r in rest.rows] == [ids[0]] and rest.next_before_id is None


def _delivered_after_a_retry_with_a_failing_receiver(conn: sa.Connection) -> int:
    """Refused once by smsc-1, taken by smsc-2 in two segments, delivered; the status report's
    callback was refused twice and then acknowledged."""
    message_id = add_message(
        conn,
        content="【阿克米】" + "长" * 70,
        segments=2,
        connector="smsc-2",
        state="delivered",
        stat="DELIVRD",
        created_at=T0,
        submitted_at=T0 + 12,
        done_at=T0 + 20,
    )
    conn.execute(
        sa.insert(submit_errors).values(
            message_id=message_id,
            attempt=1,
            connector="smsc-1",
            outcome="retry",
            error="0x58 throttled",
            at=T0 + 2,
        )
    )
    conn.execute(
        sa.insert(message_parts),
        [
            dict(
                message_id=message_id,
                part=part,
                connector="smsc-2",
                remote_id=f"R{part}",
                stat="DELIVRD",
                err="000",
            )
            for part in (0, 1)
        ],
    )
    callback_id = conn.execute(
        sa.insert(callbacks)
        .values(
            account_id=11,
            kind="report",
            payload='{"msgid":"1"}',
            state="done",
            attempts=3,
            next_attempt_at=T0 + 200,
            last_error="",
            created_at=T0 + 20,
            done_at=T0 + 140,
            message_id=message_id,
        )
        .returning(callbacks.c.id)
    ).scalar_one()
    conn.execute(
        sa.insert(callback_errors),
        [
            dict(callback_id=callback_id, attempt=1, error="HTTP 500: oops", at=T0 + 21),
            dict(callback_id=callback_id, attempt=2, error="timed out", at=T0 + 60),
        ],
    )
    return message_id


def test_a_message_shows_its_route_attempts_report_and_callbacks_in_time_order(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        message_id = _delivered_after_a_retry_with_a_failing_receiver(conn)
    with db.engine.connect() as conn:
        detail = messages.show(conn, REVIEWER, message_id)
    assert (detail.customer_name, detail.account_signature, detail.account_company) == (
        "Acme",
        "【阿克米】",
        "company 11",
    )
    assert (detail.segments, detail.fee, detail.carrier, detail.connector) == (2, 2, "mobile", "smsc-2")
    assert [(p.part, p.remote_id, p.stat) for p in detail.parts] == [
        (0, "R0", "DELIVRD"),
        (1, "R1", "DELIVRD"),
    ]
    assert [(e.connector, e.outcome, e.error) for e in detail.submit_errors] == [
        ("smsc-1", "retry", "0x58 throttled")
    ]
    [callback] = detail.callbacks
    assert (callback.state, callback.attempts, [e.error for e in callback.errors]) == (
        "done",
        3,
        ["HTTP 500: oops", "timed out"],
    )
    assert [(e.event, e.at) for e in detail.timeline] == [
        ("accepted", T0),
        ("submit_failed", T0 + 2),
        ("submitted", T0 + 12),
        ("report", T0 + 20),
        ("callback_failed", T0 + 21),
        ("callback_failed", T0 + 60),
        ("callback_done", T0 + 140),
    ]
    assert "smsc-1" in detail.timeline[1].detail and "R0, R1" in detail.timeline[2].detail
    assert detail.timeline[3].detail == "DELIVRD"


def test_a_message_never_submitted_ends_without_a_report(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        waiting = add_message(conn, state="queued", connector=None, stat="")
        failed = add_message(conn, state="failed", connector=None, stat="", done_at=T0 + 5)
    with db.engine.connect() as conn:
        assert [e.event for e in messages.show(conn, ADMIN, waiting).timeline] == ["accepted"]
        assert [e.event for e in messages.show(conn, ADMIN, failed).timeline] == ["accepted", "finished"]
        with pytest.raises(NotFound):
            messages.show(conn, ADMIN, failed + 100)


def test_a_pending_callback_shows_when_it_is_tried_next(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        message_id = add_message(conn, submitted_at=T0 + 1, done_at=T0 + 2)
        conn.execute(
            sa.insert(callbacks).values(
                account_id=11,
                kind="report",
                payload="{}",
                state="pending",
                attempts=1,
                next_attempt_at=T0 + 300,
                last_error="HTTP 404",
                created_at=T0 + 2,
                message_id=message_id,
            )
        )
    with db.engine.connect() as conn:
        last = messages.show(conn, REVIEWER, message_id).timeline[-1]
    assert (last.event, last.at, last.detail) == ("callback_waiting", T0 + 300, "HTTP 404")


def _parsed(lines: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(lines))))


def test_an_export_is_the_search_as_csv_with_whole_contents_and_no_formulas(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_message(conn, content="【阿克米】" + "内容," * 30)
        add_message(conn, account_id=21, content='=HYPERLINK("http://x") "quoted"', mobile="13900139000")
    with db.engine.connect() as conn:
        rows = _parsed(list(messages.export_csv(conn, REVIEWER)))
        only = _parsed(list(messages.export_csv(conn, REVIEWER, customer_id=1)))
    header = rows[0]
    assert header[:3] == ["id", "msgid", "created"] and header[-1] == "content"
    formula, plain = (dict(zip(header, row, strict=True)) for row in rows[1:])
    assert formula["content"] == "'" + '=HYPERLINK("http://x") "quoted"'
    assert (formula["customer"], formula["signature"], formula["mobile"]) == (
        "Globex",
        "【环球】",
        "13900139000",
    )
    assert plain["content"] == "【阿克米】" + "内容," * 30
    assert plain["created"].startswith("2023-11-1") and plain["done"] == ""
    assert [row[4] for row in only[1:]] == ["Acme"]


def test_an_export_stops_at_its_row_limit_across_chunks(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        for n in range(1_205):
            add_message(conn, created_at=T0 + n, send_id=None)
    with db.engine.connect() as conn:
        whole = _parsed(list(messages.export_csv(conn, ADMIN)))
        cut = _parsed(list(messages.export_csv(conn, ADMIN, max_rows=1_001)))
    ids = [int(row[0]) for row in whole[1:]]
    assert len(ids) == 1_205 and ids == sorted(ids, reverse=True)
    assert [int(row[0]) for row in cut[1:]] == ids[:1_001]


async def test_the_web_faces_stream_an_export_chunk_by_chunk(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        for n in range(1_003):
            add_message(conn, created_at=T0 + n)
    lines = [line async for line in messages.stream_csv(db, REVIEWER, mobile="+8613800138000")]
    assert len(lines) == 1 + 1_003 and lines[0] == messages.csv_header()
    with pytest.raises(ValueError, match="unknown carrier"):
        await anext(messages.stream_csv(db, REVIEWER, carrier="mars"))
