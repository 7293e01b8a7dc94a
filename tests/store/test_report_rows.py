"""Status reports owed to customers' URLs, written in one statement per batch (both backends)."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.store.callbacks import PENDING, REPORT, enqueue_reports
from smsplatform.store.database import Database
from smsplatform.store.schema import callbacks
from tests.dispatch.support import callback_items, make_account, run


def _report(message_id: int, word: str) -> dict[str, str]:
    return {"reportid": str(message_id), "status": word, "mobile": "13800138000", "msg": '他说"好"\\'}


def test_a_batch_of_reports_is_owed_in_its_order_to_the_sub_accounts_with_a_url(db: Database) -> None:
    listening = make_account(db)
    silent = make_account(db, signature="【静默】", statusurl="")
    rows = [
        (listening.id, _report(30, "DELIVRD")),
        (silent.id, _report(10, "DELIVRD")),
        (listening.id, _report(20, "UNDELIV")),
        (listening.id, {"status": "DELIVRD", "reportid": "not a number"}),
    ]
    run(db, enqueue_reports, rows, 1_000)
    assert callback_items(db) == [rows[0][1], rows[2][1], rows[3][1]]
    with db.engine.connect() as conn:
        stored = conn.execute(
            sa.select(
                callbacks.c.account_id,
                callbacks.c.message_id,
                callbacks.c.kind,
                callbacks.c.state,
                callbacks.c.next_attempt_at,
                callbacks.c.created_at,
            ).order_by(callbacks.c.id)
        ).all()
    assert [tuple(row) for row in stored] == [
        (listening.id, 30, REPORT, PENDING, 1_000, 1_000),
        (listening.id, 20, REPORT, PENDING, 1_000, 1_000),
        (listening.id, None, REPORT, PENDING, 1_000, 1_000),
    ]


def test_a_batch_for_sub_accounts_without_a_url_writes_nothing(db: Database) -> None:
    silent = make_account(db, signature="【静默】", statusurl="")
    run(db, enqueue_reports, [(silent.id, _report(1, "DELIVRD"))], 1_000)
    run(db, enqueue_reports, [], 1_000)
    assert callback_items(db) == []
