"""Submit results: retries, failures with their refund and report, and the attempts kept (both backends)."""

from __future__ import annotations

from smsplatform.domain.message_states import FAILED, QUEUED, REJECTED, SUBMITTED
from smsplatform.domain.payloads import local_time
from smsplatform.domain.submit_outcomes import Failed, Retry, Submitted
from smsplatform.store.claims import LEASE_RAN_OUT, RELEASED, claim, release_leases, requeue_expired
from smsplatform.store.database import Database
from smsplatform.store.results import record_results
from tests.dispatch.support import callback_items, make_account, message, queue, run, usednum
from tests.store.outbox_support import LONG_TEXT, ME, OTHER, failed_attempts


def test_a_permanent_failure_refunds_and_reports(db: Database) -> None:
    account = make_account(db)
    [message_id, other_id] = queue(db, account, ["13800138000", "13800138001"], LONG_TEXT)
    assert usednum(db, account.id) == 6
    run(db, claim, ME, 1_001, 10, 30)
    failure = Failed(message_id, "0x0000000B", REJECTED, "REJECTD", "smsc-1")
    summary = run(db, record_results, ME, [failure, Submitted(other_id, "smsc-1", ("e1", "e2", "e3"))], 1_010)
    assert (summary.failed, summary.submitted) == (1, 1)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode, row.done_at) == (REJECTED, "REJECTD", "0x0000000B", 1_010)
    assert usednum(db, account.id) == 3
    [report] = callback_items(db)
    assert (report["reportid"], report["status"], report["success"]) == (str(message_id), "REJECTD", "0")
    assert (report["errcode"], report["segments"], report["submittime"]) == (
        "0x0000000B",
        "3",
        local_time(1_000),
    )
    # A repeated outcome is ignored: no second refund, no second report.
    run(db, record_results, ME, [failure], 1_011)
    assert usednum(db, account.id) == 3
    assert len(callback_items(db)) == 1


def test_outcomes_of_a_lost_lease(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001", "13800138002"])
    run(db, claim, ME, 1_001, 10, 30)
    run(db, requeue_expired, 1_100)  # ME was presumed dead
    run(db, claim, OTHER, 1_100, 1, 30)  # OTHER holds ids[0] now
    outcomes = [
        Retry(ids[0], 1_200, "timeout", "smsc-1", maybe_sent=True),
        Failed(ids[1], "0x0000000B", REJECTED, "REJECTD"),
        Submitted(ids[2], "smsc-1", ("f1",)),
    ]
    summary = run(db, record_results, ME, outcomes, 1_101)
    # Retries and failures need the lease; the carrier's acceptance is recorded regardless.
    assert (summary.retried, summary.failed, summary.submitted) == (0, 0, 1)
    assert message(db, ids[0]).lease_owner == OTHER
    assert message(db, ids[1]).state == QUEUED
    assert message(db, ids[2]).state == SUBMITTED
    # Only the lease running out is on record: the outcomes that came too late changed nothing.
    assert failed_attempts(db) == [(i, 1, "", "maybe_sent", LEASE_RAN_OUT, 1_100) for i in ids]


def test_a_timeout_counts_as_possibly_sent(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    run(db, record_results, ME, [Retry(message_id, 1_002, "timeout", "smsc-1", maybe_sent=True)], 1_001)
    assert message(db, message_id).maybe_sent == 1


def test_giving_up_fails_with_a_refund(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    run(db, record_results, ME, [Failed(message_id, "not bound")], 90_000)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode) == (FAILED, "UNDELIV", "not bound")
    assert usednum(db, account.id) == 0
    assert callback_items(db)[0]["status"] == "UNDELIV"


# --- failed attempts -----------------------------------------------------------------------------


def test_failed_attempts_are_kept_with_their_answer(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"1380013800{i}" for i in range(4)])
    run(db, claim, ME, 1_001, 10, 30)
    long_answer = "refused: " + "x" * 300
    outcomes = [
        Retry(ids[0], 1_050, "throttled: 0x00000058", "smsc-1"),
        Retry(ids[1], 1_050, "response timeout", "smsc-2", maybe_sent=True),
        Failed(ids[2], long_answer, REJECTED, "REJECTD", "smsc-1"),
        Submitted(ids[3], "smsc-1", ("k1",)),
    ]
    run(db, record_results, ME, outcomes, 1_010)
    assert failed_attempts(db) == [
        (ids[0], 1, "smsc-1", "retry", "throttled: 0x00000058", 1_010),
        (ids[1], 1, "smsc-2", "maybe_sent", "response timeout", 1_010),
        (ids[2], 1, "smsc-1", "failed", long_answer[:200], 1_010),
    ]
    assert message(db, ids[0]).errcode == "throttled: 0x00000058"[:32]

    assert [m.id for m in run(db, claim, OTHER, 1_050, 10, 30)] == ids[:2]  # OTHER dies holding them
    assert run(db, requeue_expired, 1_081) == 2
    run(db, claim, ME, 1_081, 10, 30)
    assert run(db, release_leases, ME, 1_082) == 2  # ME stops before the answers came
    assert failed_attempts(db)[3:] == [
        (ids[0], 2, "", "maybe_sent", LEASE_RAN_OUT, 1_081),
        (ids[1], 2, "", "maybe_sent", LEASE_RAN_OUT, 1_081),
        (ids[0], 3, "", "maybe_sent", RELEASED, 1_082),
        (ids[1], 3, "", "maybe_sent", RELEASED, 1_082),
    ]


def test_retries_of_one_batch_each_keep_their_own_time_and_answer(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"1380013800{i}" for i in range(5)])
    run(db, claim, ME, 1_001, 10, 30)
    outcomes = [
        Retry(ids[0], 1_050, "throttled", "smsc-1"),
        Retry(ids[1], 1_050, "throttled", "smsc-1"),
        Retry(ids[2], 1_060, "throttled", "smsc-1"),
        Retry(ids[3], 1_050, "no route"),
        Retry(ids[4], 1_050, "timeout", "smsc-1", maybe_sent=True),
    ]
    assert run(db, record_results, ME, outcomes, 1_010).retried == 5
    rows = [message(db, i) for i in ids]
    assert [(r.state, r.next_attempt_at, r.errcode, r.connector, r.maybe_sent) for r in rows] == [
        (QUEUED, 1_050, "throttled", "smsc-1", 0),
        (QUEUED, 1_050, "throttled", "smsc-1", 0),
        (QUEUED, 1_060, "throttled", "smsc-1", 0),
        (QUEUED, 1_050, "no route", None, 0),
        (QUEUED, 1_050, "timeout", "smsc-1", 1),
    ]
    assert sorted((m, outcome, error) for m, _, _, outcome, error, _ in failed_attempts(db)) == [
        (ids[0], "retry", "throttled"),
        (ids[1], "retry", "throttled"),
        (ids[2], "retry", "throttled"),
        (ids[3], "retry", "no route"),
        (ids[4], "maybe_sent", "timeout"),
    ]
