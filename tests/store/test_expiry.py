"""Messages that would never end: the receipt timeout's sweep and the maximum age by kind, on a real
database (SQLite, and PostgreSQL when configured), with the clock given by each call."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from smsplatform.domain.expiry import MaxAges
from smsplatform.domain.message_states import DELIVERED, FAILED, FINAL_STATES, SUBMITTED, UNKNOWN
from smsplatform.domain.payloads import local_time
from smsplatform.domain.segments import count_segments
from smsplatform.domain.submit_outcomes import Failed, Submitted
from smsplatform.store.accounts import Account
from smsplatform.store.claims import claim
from smsplatform.store.connectors import ConnectorRow, add_connector
from smsplatform.store.database import Database
from smsplatform.store.expiry import time_out_receipts
from smsplatform.store.outbox import Accepted, NewMessage, SendRequest, accept_send
from smsplatform.store.queries import message_statuses
from smsplatform.store.receipts import ReceiptIn, apply_receipts
from smsplatform.store.results import record_results
from smsplatform.store.schema import accounts, messages, traffic_stats
from tests.dispatch.support import SIGNATURE, callback_items, make_account, message, parts, run, usednum

ME = "dispatcher-a"
HOUR = 3600
TIMEOUT = 72 * HOUR
SUBMITTED_AT = 10_000
LONG_TEXT = "长" * 150  # with the signature: three segments


def accept(
    db: Database,
    account: Account,
    mobiles: Sequence[str],
    kind: str,
    *,
    text: str = "您的验证码是1234",
    now: int,
) -> list[int]:
    """One send of `kind` to `mobiles`, debiting the quota as the API does; the message ids."""
    content = SIGNATURE + text
    new = [NewMessage(m, content, count_segments(content), kind, "mobile") for m in mobiles]

    def unit(conn: sa.Connection) -> list[int]:
        outcome = accept_send(conn, SendRequest(account.customer_id, account.id, new, now))
        assert isinstance(outcome, Accepted)
        query = sa.select(messages.c.id).where(messages.c.send_id == int(outcome.result["msgid"]))
        return list(conn.execute(query.order_by(messages.c.id)).scalars())

    return run(db, unit)


def submitted(
    db: Database,
    account: Account,
    mobiles: Sequence[str],
    *,
    connector: str = "smsc-1",
    text: str = "您的验证码是1234",
) -> list[int]:
    """Messages the SMSC took at SUBMITTED_AT, one remote id per segment: `<id>-<segment>`."""
    ids = accept(db, account, mobiles, "notification", text=text, now=SUBMITTED_AT - 5)
    claimed = run(db, claim, ME, SUBMITTED_AT - 1, 1000, 30)
    outcomes = [
        Submitted(m.id, connector, tuple(f"{m.id}-{s}" for s in range(1, m.segments + 1))) for m in claimed
    ]
    assert run(db, record_results, ME, outcomes, SUBMITTED_AT).submitted == len(ids)
    return ids


def receipt(remote_id: str, stat: str = "DELIVRD", err: str = "000", connector: str = "smsc-1") -> ReceiptIn:
    return ReceiptIn(connector, remote_id, stat, err)


# --- receipt timeout -----------------------------------------------------------------------------


def test_a_message_without_its_report_ends_unknown_with_one_report_and_no_refund(db: Database) -> None:
    account = make_account(db)
    silent, reported = submitted(db, account, ["13800138000", "13800138001"])
    run(db, apply_receipts, [receipt(f"{reported}-1")], SUBMITTED_AT + 5)
    balance = usednum(db, account.id)
    assert run(db, time_out_receipts, SUBMITTED_AT + TIMEOUT, TIMEOUT) == 0  # not past it yet
    assert message(db, silent).state == SUBMITTED

    assert run(db, time_out_receipts, SUBMITTED_AT + TIMEOUT + 1, TIMEOUT) == 1
    row = message(db, silent)
    assert (row.state, row.stat, row.errcode, row.done_at) == (
        UNKNOWN,
        "UNKNOWN",
        "TIMEOUT",
        SUBMITTED_AT + TIMEOUT + 1,
    )
    assert UNKNOWN in FINAL_STATES
    reports = [r for r in callback_items(db) if r["reportid"] == str(silent)]
    assert reports == [
        {
            "msgid": str(row.send_id),
            "mobile": "13800138000",
            "accountid": str(account.id),
            "status": "UNKNOWN",
            "success": "0",
            "errcode": "TIMEOUT",
            "submittime": local_time(SUBMITTED_AT),
            "donetime": local_time(SUBMITTED_AT + TIMEOUT + 1),
            "segments": "1",
            "reportid": str(silent),
        }
    ]
    assert usednum(db, account.id) == balance  # the carrier took it: nothing to give back
    assert message(db, reported).state == DELIVERED
    assert run(db, time_out_receipts, SUBMITTED_AT + 2 * TIMEOUT, TIMEOUT) == 0  # once only


def test_a_report_after_the_timeout_updates_the_message_but_sends_no_second_report(db: Database) -> None:
    account = make_account(db)
    [message_id] = submitted(db, account, ["13800138000"])
    run(db, time_out_receipts, SUBMITTED_AT + TIMEOUT + 1, TIMEOUT)
    assert len(callback_items(db)) == 1

    summary = run(
        db, apply_receipts, [receipt(f"{message_id}-1", "UNDELIV", "005")], SUBMITTED_AT + TIMEOUT + 60
    )
    assert (summary.applied, summary.finished) == (1, 0)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode) == (UNKNOWN, "UNDELIV", "005")
    assert [p.stat for p in parts(db, message_id)] == ["UNDELIV"]
    assert len(callback_items(db)) == 1  # still the one UNKNOWN report
    # The status query says what finally became of it.
    _, [status] = run(db, message_statuses, account.customer_id)
    assert (status.state, status.stat, status.errcode) == (UNKNOWN, "UNDELIV", "005")


def test_a_long_message_missing_a_segments_report_ends_unknown_once(db: Database) -> None:
    account = make_account(db)
    [message_id] = submitted(db, account, ["13800138000"], text=LONG_TEXT)
    assert message(db, message_id).segments == 3
    run(db, apply_receipts, [receipt(f"{message_id}-1"), receipt(f"{message_id}-3")], SUBMITTED_AT + 5)
    assert message(db, message_id).state == SUBMITTED

    assert run(db, time_out_receipts, SUBMITTED_AT + TIMEOUT + 1, TIMEOUT) == 1
    [report] = callback_items(db)
    assert (report["status"], report["errcode"], report["segments"]) == ("UNKNOWN", "TIMEOUT", "3")

    # The missing segment's report comes at last: the message takes the word of its parts, quietly.
    summary = run(db, apply_receipts, [receipt(f"{message_id}-2")], SUBMITTED_AT + TIMEOUT + 9)
    assert (summary.applied, summary.finished) == (1, 0)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode) == (UNKNOWN, "DELIVRD", "000")
    assert len(callback_items(db)) == 1


def test_a_connectors_own_receipt_timeout_applies_to_its_messages(db: Database) -> None:
    account = make_account(db)
    row = ConnectorRow("quick", "smpp", "127.0.0.1", 2775, "esme", "pw", options={"receipt_timeout": "1h"})
    run(db, add_connector, row)
    [quick] = submitted(db, account, ["13800138000"], connector="quick")
    [slow] = submitted(db, account, ["13800138001"], connector="smsc-1")

    assert run(db, time_out_receipts, SUBMITTED_AT + HOUR + 1, TIMEOUT) == 1
    assert (message(db, quick).state, message(db, slow).state) == (UNKNOWN, SUBMITTED)
    assert run(db, time_out_receipts, SUBMITTED_AT + TIMEOUT + 1, TIMEOUT) == 1
    assert message(db, slow).state == UNKNOWN


def test_the_sweep_ends_a_bounded_batch_at_a_time_over_every_connector(db: Database) -> None:
    account = make_account(db)
    ids = submitted(db, account, [f"1380013800{i}" for i in range(3)], connector="a")
    ids += submitted(db, account, [f"1390013900{i}" for i in range(2)], connector="b")
    now = SUBMITTED_AT + TIMEOUT + 1
    assert [run(db, time_out_receipts, now, TIMEOUT, {}, 2) for _ in range(4)] == [2, 2, 1, 0]
    assert {message(db, m).state for m in ids} == {UNKNOWN}
    assert sorted(int(r["reportid"]) for r in callback_items(db)) == ids


def test_a_timed_out_message_counts_as_failed_in_the_figures(db: Database) -> None:
    account = make_account(db)
    submitted(db, account, ["13800138000"])
    run(db, time_out_receipts, SUBMITTED_AT + TIMEOUT + 1, TIMEOUT)
    with db.engine.connect() as conn:
        query = sa.select(sa.func.sum(traffic_stats.c.failed), sa.func.sum(traffic_stats.c.delivered)).where(
            traffic_stats.c.period == 86400
        )
        assert tuple(conn.execute(query).one()) == (1, 0)


def test_the_sweep_reads_the_submitted_messages_index(db: Database) -> None:
    account = make_account(db)
    submitted(db, account, ["13800138000"])
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE state = 'submitted' AND connector = 'x'"
                " AND submitted_at < 5 ORDER BY submitted_at LIMIT 10"
            ).all()
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a table this small would be read whole
            plan = conn.exec_driver_sql(
                "EXPLAIN SELECT id FROM messages WHERE state = 'submitted' AND connector = 'x'"
                " AND submitted_at < 5 ORDER BY submitted_at LIMIT 10"
            ).all()
        lines = [str(part).strip() for row in plan for part in row]
        text = " ".join(lines)
        assert "ix_messages_submitted" in text, text
        # In index order: no sort step (a partitioned table's Merge Append names its "Sort Key").
        sorts = [line for line in lines if line.lstrip("-> ").startswith("Sort  (") or "TEMP B-TREE" in line]
        assert not sorts, text


# --- maximum age by kind -------------------------------------------------------------------------


def test_a_claim_says_when_each_message_expires_by_its_kind_and_sub_account(db: Database) -> None:
    account = make_account(db)
    other = make_account(db, signature="【另一家】")
    with db.engine.begin() as conn:
        overrides = json.dumps({"verification": 300})
        conn.execute(sa.update(accounts).where(accounts.c.id == other.id).values(max_age=overrides))
    code = accept(db, account, ["13800138000"], "verification", now=1_000)
    promo = accept(db, account, ["13800138001"], "marketing", text="会员日8折，回TD退订", now=1_000)
    note = accept(db, account, ["13800138002"], "notification", text="您的订单已发货", now=1_000)
    overridden = accept(db, other, ["13800138003"], "verification", now=1_000)
    ages = MaxAges(verification=600, notification=7200, marketing=3600)
    claimed = {m.id: m for m in run(db, claim, ME, 1_001, 10, 30, ages)}
    assert [(claimed[m].kind, claimed[m].expires_at) for m in (*code, *promo, *note, *overridden)] == [
        ("verification", 1_600),
        ("marketing", 4_600),
        ("notification", 8_200),
        ("verification", 1_300),
    ]


def test_an_expired_message_fails_with_a_report_and_a_refund(db: Database) -> None:
    account = make_account(db)
    [message_id] = accept(db, account, ["13800138000"], "verification", now=1_000)
    assert usednum(db, account.id) == 1
    [claimed] = run(db, claim, ME, 1_600, 10, 30)
    assert claimed.expires_at == 1_600
    expired = Failed(message_id, "MAXAGE", FAILED, "EXPIRED")  # what the submitter answers (its tests)
    assert run(db, record_results, ME, [expired], 1_600).failed == 1
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode, row.done_at) == (FAILED, "EXPIRED", "MAXAGE", 1_600)
    assert usednum(db, account.id) == 0
    [report] = callback_items(db)
    assert (report["status"], report["success"], report["errcode"]) == ("EXPIRED", "0", "MAXAGE")
    _, [status] = run(db, message_statuses, account.customer_id)
    assert (status.state, status.stat, status.errcode) == (FAILED, "EXPIRED", "MAXAGE")


@pytest.mark.parametrize("raw", ["{}", "", '{"marketing": 0}'])
def test_no_override_means_the_platforms_age(db: Database, raw: str) -> None:
    account = make_account(db)
    with db.engine.begin() as conn:
        conn.execute(sa.update(accounts).where(accounts.c.id == account.id).values(max_age=raw))
    accept(db, account, ["13800138000"], "marketing", text="会员日8折，回TD退订", now=1_000)
    [claimed] = run(db, claim, ME, 1_001, 10, 30)
    assert claimed.expires_at == 1_000 + 24 * HOUR
