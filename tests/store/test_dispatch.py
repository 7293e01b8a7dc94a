"""The dispatcher's units of work on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from smsplatform.store import dispatch as dispatch_store
from smsplatform.store.database import Database
from smsplatform.store.dispatch import (
    DELIVERED,
    EXPIRED,
    FAILED,
    LEASE_RAN_OUT,
    QUEUED,
    REJECTED,
    RELEASED,
    SUBMITTED,
    SUBMITTING,
    UNDELIVERED,
    Failed,
    InboundIn,
    ReceiptIn,
    Retry,
    Submitted,
    apply_receipts,
    claim,
    local_time,
    purge_unmatched,
    record_results,
    release_leases,
    rematch_receipts,
    renew_leases,
    requeue_expired,
    store_inbound,
)
from smsplatform.store.schema import (
    callbacks,
    inbound,
    message_parts,
    messages,
    optouts,
    submit_errors,
    unmatched_receipts,
)
from tests.dispatch.support import callback_items, make_account, message, parts, queue, run, usednum

ME = "dispatcher-a"
OTHER = "dispatcher-b"
LONG_TEXT = "长" * 150  # with the signature: 156 characters, three segments


def submit(
    db: Database, message_id: int, *remote_ids: str, connector: str = "smsc-1", now: int = 1_010
) -> None:
    summary = run(db, record_results, ME, [Submitted(message_id, connector, remote_ids)], now)
    assert summary.submitted == 1


def receipt(remote_id: str, stat: str = "DELIVRD", err: str = "000", connector: str = "smsc-1") -> ReceiptIn:
    return ReceiptIn(connector, remote_id, stat, err)


def failed_attempts(db: Database) -> list[tuple[int, int, str, str, str, int]]:
    """submit_errors as (message_id, attempt, connector, outcome, error, at), in the order written."""
    with db.engine.connect() as conn:
        query = sa.select(
            submit_errors.c.message_id,
            submit_errors.c.attempt,
            submit_errors.c.connector,
            submit_errors.c.outcome,
            submit_errors.c.error,
            submit_errors.c.at,
        ).order_by(submit_errors.c.id)
        return [tuple(row) for row in conn.execute(query)]


def unmatched_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(unmatched_receipts)).scalar_one())


# --- claims and leases --------------------------------------------------------------------------


def test_claim_leases_due_messages_once_oldest_first(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"1380013800{i}" for i in range(5)])
    first = run(db, claim, ME, 1_001, 3, 30)
    assert [m.id for m in first] == ids[:3]
    assert first[0].extension == account.extension and first[0].attempts == 1
    assert first[0].content.startswith("【进制数据】") and first[0].carrier == "mobile"
    row = message(db, ids[0])
    assert (row.state, row.lease_owner, row.lease_until) == (SUBMITTING, ME, 1_031)
    second = run(db, claim, OTHER, 1_001, 10, 30)
    assert [m.id for m in second] == ids[3:]
    assert run(db, claim, ME, 1_001, 10, 30) == []


def test_a_retry_is_not_claimed_before_its_time(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    run(db, record_results, ME, [Retry(message_id, 1_050, "0x00000058", "smsc-1")], 1_002)
    row = message(db, message_id)
    assert (row.state, row.next_attempt_at, row.errcode, row.lease_owner) == (
        QUEUED,
        1_050,
        "0x00000058",
        None,
    )
    assert run(db, claim, ME, 1_049, 10, 30) == []
    [again] = run(db, claim, ME, 1_050, 10, 30)
    assert again.attempts == 2


def test_expired_leases_come_back_counted_as_possibly_sent(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001"])
    run(db, claim, OTHER, 1_001, 10, 30)  # OTHER dies holding both
    assert run(db, requeue_expired, 1_030) == 0  # the lease runs until 1_031
    assert run(db, renew_leases, OTHER, 1_040) == 2
    assert run(db, requeue_expired, 1_035) == 0
    assert run(db, requeue_expired, 1_041) == 2
    row = message(db, ids[0])
    assert (row.state, row.maybe_sent, row.lease_owner) == (QUEUED, 1, None)
    assert [m.id for m in run(db, claim, ME, 1_041, 10, 30)] == ids


def test_release_gives_back_only_the_owners_claims(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001"])
    run(db, claim, ME, 1_001, 1, 30)
    run(db, claim, OTHER, 1_001, 1, 30)
    assert run(db, release_leases, ME, 1_002) == 1
    assert message(db, ids[0]).state == QUEUED and message(db, ids[0]).maybe_sent == 1
    assert message(db, ids[1]).state == SUBMITTING


# --- submit results ------------------------------------------------------------------------------


def test_submitted_then_delivered_gives_exactly_one_report(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, message_id, "0000000001")
    row = message(db, message_id)
    assert (row.state, row.connector, row.submitted_at, row.lease_owner) == (SUBMITTED, "smsc-1", 1_010, None)
    assert [(p.part, p.remote_id, p.stat) for p in parts(db, message_id)] == [(1, "0000000001", "")]

    summary = run(db, apply_receipts, [receipt("0000000001")], 1_020)
    assert (summary.applied, summary.finished) == (1, 1)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode, row.done_at) == (DELIVERED, "DELIVRD", "000", 1_020)
    assert callback_items(db) == [
        {
            "msgid": str(row.send_id),
            "mobile": "13800138000",
            "accountid": str(account.id),
            "status": "DELIVRD",
            "success": "1",
            "errcode": "000",
            "submittime": local_time(1_010),
            "donetime": local_time(1_020),
            "segments": "1",
            "reportid": str(message_id),
        }
    ]

    again = run(db, apply_receipts, [receipt("0000000001"), receipt("0000000001", "UNDELIV", "005")], 1_030)
    assert (again.applied, again.duplicates, again.finished) == (0, 2, 0)
    assert message(db, message_id).state == DELIVERED
    assert len(callback_items(db)) == 1
    with db.engine.connect() as conn:  # the report's row names its message, for the message's page
        assert conn.execute(sa.select(callbacks.c.message_id)).scalar_one() == message_id
    assert failed_attempts(db) == []  # an acknowledged attempt is a part, not an error


def test_a_long_message_is_final_when_every_part_is(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"], LONG_TEXT)
    assert message(db, message_id).segments == 3
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, message_id, "a1", "a2", "a3")
    run(db, apply_receipts, [receipt("a3", "UNDELIV", "005"), receipt("a1")], 1_020)
    assert message(db, message_id).state == SUBMITTED
    assert callback_items(db) == []
    summary = run(db, apply_receipts, [receipt("a2", "EXPIRED", "003")], 1_030)
    assert summary.finished == 1
    row = message(db, message_id)
    # The first failing part in segment order decides.
    assert (row.state, row.stat, row.errcode) == (EXPIRED, "EXPIRED", "003")
    [report] = callback_items(db)
    assert (report["status"], report["success"], report["segments"]) == ("EXPIRED", "0", "3")


def test_the_same_part_twice_in_one_batch_counts_once(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"], LONG_TEXT)
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, message_id, "b1", "b2", "b3")
    batch = [receipt(r) for r in ("b1", "b2", "b2", "b3", "b3")]
    summary = run(db, apply_receipts, batch, 1_020)
    assert (summary.applied, summary.duplicates, summary.finished) == (3, 2, 1)
    assert message(db, message_id).state == DELIVERED
    assert len(callback_items(db)) == 1


def test_one_batch_of_receipts_settles_each_message_with_its_own_outcome(db: Database) -> None:
    account = make_account(db)
    short = queue(db, account, [f"1380013800{i}" for i in range(4)])
    [long] = queue(db, account, ["13900139000"], LONG_TEXT)
    run(db, claim, ME, 1_001, 10, 30)
    outcomes = [Submitted(m, "smsc-1", (f"s{m}",)) for m in short] + [
        Submitted(long, "smsc-1", ("l1", "l2", "l3"))
    ]
    run(db, record_results, ME, outcomes, 1_010)
    batch = [
        receipt(f"s{short[0]}"),
        receipt(f"s{short[1]}", "UNDELIV", "005"),
        receipt("l3", "UNDELIV", "005"),
        receipt(f"s{short[2]}", "UNDELIV", "007"),
        receipt("l2", "REJECTD", "009"),
        receipt("l1", "DELIVRD", "000"),
        receipt(f"s{short[3]}", "DELIVRD", "001"),
    ]
    summary = run(db, apply_receipts, batch, 1_020)
    assert (summary.applied, summary.finished) == (7, 5)
    expected = [
        (DELIVERED, "DELIVRD", "000"),
        (UNDELIVERED, "UNDELIV", "005"),
        (UNDELIVERED, "UNDELIV", "007"),
        (DELIVERED, "DELIVRD", "001"),
        (REJECTED, "REJECTD", "009"),  # the first failing part in segment order
    ]
    rows = [message(db, m) for m in [*short, long]]
    assert [(r.state, r.stat, r.errcode) for r in rows] == expected
    reports = callback_items(db)  # one each, in message order
    assert [r["reportid"] for r in reports] == [str(m) for m in [*short, long]]
    assert [(r["status"], r["errcode"]) for r in reports] == [(stat, err) for _, stat, err in expected]


def test_batches_larger_than_one_statement_takes(db: Database) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"138{i:08d}" for i in range(1200)])
    assert len(run(db, claim, ME, 1_001, 2000, 30)) == 1200
    summary = run(db, record_results, ME, [Submitted(m, "smsc-1", (f"r{m}",)) for m in ids], 1_010)
    assert summary.submitted == 1200
    summary = run(db, apply_receipts, [receipt(f"r{m}") for m in ids], 1_020)
    assert (summary.applied, summary.finished) == (1200, 1200)
    assert {message(db, m).state for m in ids[::100]} == {DELIVERED}
    assert [int(r["reportid"]) for r in callback_items(db)] == ids


@pytest.mark.parametrize(
    ("stat", "state"),
    [("UNDELIV", UNDELIVERED), ("REJECTD", REJECTED), ("EXPIRED", EXPIRED), ("MK:0005", UNDELIVERED)],
)
def test_failure_words_map_to_states(db: Database, stat: str, state: str) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, message_id, "c1")
    run(db, apply_receipts, [receipt("c1", stat, "042")], 1_020)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode) == (state, stat, "042")
    assert callback_items(db)[0]["success"] == "0"


def test_intermediate_receipts_change_nothing(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, message_id, "d1")
    summary = run(db, apply_receipts, [receipt("d1", "ENROUTE"), receipt("d1", "ACCEPTD")], 1_020)
    assert summary.intermediate == 2
    assert message(db, message_id).state == SUBMITTED
    assert parts(db, message_id)[0].stat == ""
    assert unmatched_count(db) == 0


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


# --- receipts that overtake their submit result -------------------------------------------------


def test_a_receipt_before_its_submit_result_is_kept_and_applied(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    summary = run(db, apply_receipts, [receipt("g1", "UNDELIV", "005")], 1_005)
    assert summary.unmatched == 1 and unmatched_count(db) == 1
    result = run(db, record_results, ME, [Submitted(message_id, "smsc-1", ("g1",))], 1_006)
    assert (result.early_receipts, result.finished) == (1, 1)
    row = message(db, message_id)
    assert (row.state, row.stat, row.errcode) == (UNDELIVERED, "UNDELIV", "005")
    assert unmatched_count(db) == 0
    assert len(callback_items(db)) == 1


def test_rematch_applies_kept_receipts_whose_part_appeared(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, apply_receipts, [receipt("h1"), receipt("nobody")], 1_005)

    def submitted_elsewhere(conn: sa.Connection) -> None:  # as a concurrent transaction would have
        conn.execute(sa.update(messages).where(messages.c.id == message_id).values(state=SUBMITTED))
        conn.execute(
            sa.insert(message_parts).values(message_id=message_id, part=1, connector="smsc-1", remote_id="h1")
        )

    run(db, submitted_elsewhere)
    assert run(db, rematch_receipts, 2_000, 1_006) == (0, 0)  # kept before `since`
    assert run(db, rematch_receipts, 1_010, 1_005) == (1, 1)
    assert message(db, message_id).state == DELIVERED
    assert unmatched_count(db) == 1  # "nobody" stays until it is purged
    assert run(db, rematch_receipts, 1_011, 1_005) == (0, 0)
    assert run(db, purge_unmatched, 1_005) == 0
    assert run(db, purge_unmatched, 1_006) == 1


def test_a_receipt_never_takes_another_connectors_part(db: Database) -> None:
    account = make_account(db)
    first, second = queue(db, account, ["13800138000", "13800138001"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, first, "77", connector="smsc-1")
    # smsc-2 reports its own "77" before its submit result is stored: it waits, smsc-1's part untouched.
    summary = run(db, apply_receipts, [receipt("77", "UNDELIV", "005", connector="smsc-2")], 1_011)
    assert (summary.applied, summary.unmatched) == (0, 1)
    assert message(db, first).state == SUBMITTED
    result = run(db, record_results, ME, [Submitted(second, "smsc-2", ("77",))], 1_012)
    assert (result.early_receipts, result.finished) == (1, 1)
    assert (message(db, first).state, message(db, second).state) == (SUBMITTED, UNDELIVERED)
    run(db, apply_receipts, [receipt("77", connector="smsc-1")], 1_013)
    assert (message(db, first).state, message(db, second).state) == (DELIVERED, UNDELIVERED)
    assert unmatched_count(db) == 0
    assert sorted(item["status"] for item in callback_items(db)) == ["DELIVRD", "UNDELIV"]


def test_a_kept_receipt_waits_for_its_own_connectors_part(db: Database) -> None:
    account = make_account(db)
    first, second = queue(db, account, ["13800138000", "13800138001"])
    run(db, claim, ME, 1_001, 10, 30)
    run(db, apply_receipts, [receipt("5", "REJECTD", "008", connector="smsc-2")], 1_005)
    # smsc-1 records a part under the same id: the kept receipt is not its.
    result = run(db, record_results, ME, [Submitted(first, "smsc-1", ("5",))], 1_006)
    assert (result.early_receipts, result.finished) == (0, 0)
    assert message(db, first).state == SUBMITTED and unmatched_count(db) == 1
    result = run(db, record_results, ME, [Submitted(second, "smsc-2", ("5",))], 1_007)
    assert (result.early_receipts, result.finished) == (1, 1)
    assert (message(db, first).state, message(db, second).state) == (SUBMITTED, REJECTED)


def test_a_receipt_naming_another_number_waits_for_its_own_part(db: Database) -> None:
    """One connector, one id, two messages: the SMSC restarted and counts from 1 again while the
    first message's report was lost."""
    account = make_account(db)
    old, new = queue(db, account, ["13800138000", "13900139001"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, old, "0000000001")
    early = ReceiptIn("smsc-1", "0000000001", "UNDELIV", "005", destination="8613900139001")
    summary = run(db, apply_receipts, [early], 1_011)
    assert (summary.applied, summary.unmatched) == (0, 1)
    assert message(db, old).state == SUBMITTED
    result = run(db, record_results, ME, [Submitted(new, "smsc-1", ("0000000001",))], 1_012)
    assert (result.early_receipts, result.finished) == (1, 1)
    assert (message(db, old).state, message(db, new).state) == (SUBMITTED, UNDELIVERED)
    # Both parts recorded now: each receipt finds the part sent to the number it names.
    late = ReceiptIn("smsc-1", "0000000001", "DELIVRD", "000", destination="13800138000")
    run(db, apply_receipts, [late], 1_013)
    assert (message(db, old).state, message(db, new).state) == (DELIVERED, UNDELIVERED)
    assert [item["mobile"] for item in callback_items(db)] == ["13900139001", "13800138000"]


def test_a_receipt_whose_number_cannot_be_read_takes_its_connectors_open_part(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, message_id, "m1")
    run(db, apply_receipts, [ReceiptIn("smsc-1", "m1", "DELIVRD", "000", destination="1069000")], 1_011)
    assert message(db, message_id).state == DELIVERED


def test_rematch_applies_a_kept_receipt_only_to_its_own_connectors_part(db: Database) -> None:
    account = make_account(db)
    first, second = queue(db, account, ["13800138000", "13800138001"])
    kept = [
        ReceiptIn("smsc-2", "r1", "UNDELIV", "005", destination="13800138001"),
        ReceiptIn("smsc-1", "r1", "DELIVRD", "000", destination="13800138001"),  # names the wrong number
    ]
    run(db, apply_receipts, kept, 1_005)

    def submitted_elsewhere(conn: sa.Connection) -> None:  # as a concurrent transaction would have
        for message_id, connector in ((first, "smsc-1"), (second, "smsc-2")):
            conn.execute(sa.update(messages).where(messages.c.id == message_id).values(state=SUBMITTED))
            conn.execute(
                sa.insert(message_parts).values(
                    message_id=message_id, part=1, connector=connector, remote_id="r1"
                )
            )

    run(db, submitted_elsewhere)
    assert run(db, rematch_receipts, 1_010, 1_005) == (1, 1)
    assert (message(db, first).state, message(db, second).state) == (SUBMITTED, UNDELIVERED)
    assert unmatched_count(db) == 1  # smsc-1's receipt names a number smsc-1 did not send "r1" to


def test_a_reused_remote_id_goes_to_the_open_part(db: Database) -> None:
    account = make_account(db)
    old, new = queue(db, account, ["13800138000", "13800138001"])
    run(db, claim, ME, 1_001, 10, 30)
    submit(db, old, "0000000001")
    run(db, apply_receipts, [receipt("0000000001")], 1_011)
    submit(db, new, "0000000001", now=1_012)  # the SMSC restarted and counts from 1 again
    run(db, apply_receipts, [receipt("0000000001", "UNDELIV", "005")], 1_020)
    assert (message(db, old).state, message(db, new).state) == (DELIVERED, UNDELIVERED)


# --- replies -------------------------------------------------------------------------------------


def test_a_reply_finds_its_sub_account_by_extension(db: Database) -> None:
    account = make_account(db)
    other = make_account(db, signature="【其他公司】")
    mo = InboundIn("smsc-1", "1069000", "8613800138000", "1069000" + account.extension, "收到，谢谢")
    [stored] = run(db, store_inbound, [mo], 1_500)
    assert (stored.account_id, stored.opted_out) == (account.id, False)
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(inbound)).one()
    assert (row.id, row.customer_id, row.mobile, row.content) == (
        stored.id,
        account.customer_id,
        "13800138000",
        "收到，谢谢",
    )
    assert callback_items(db, "reply") == [
        {
            "replyid": str(stored.id),
            "accountid": str(account.id),
            "mobile": "13800138000",
            "content": "收到，谢谢",
            "receivetime": local_time(1_500),
        }
    ]
    # Digits the subscriber added after the extension: the longest extension that prefixes them.
    longer = InboundIn("smsc-1", "1069000", "13800138000", "1069000" + other.extension + "99", "好")
    assert run(db, store_inbound, [longer], 1_501)[0].account_id == other.id


def test_a_reply_without_extension_goes_to_the_last_sender(db: Database) -> None:
    first = make_account(db)
    second = make_account(db, signature="【其他公司】")
    queue(db, first, ["13800138000"])
    queue(db, second, ["13800138000"])
    queue(db, first, ["13800138001"])
    mo = InboundIn("smsc-1", "1069000", "13800138000", "1069000", "hello")
    assert run(db, store_inbound, [mo], 1_500)[0].account_id == second.id
    stranger = InboundIn("smsc-1", "1069000", "13900139000", "1069000", "who?")
    [unknown] = run(db, store_inbound, [stranger], 1_501)
    assert unknown.account_id is None
    assert len(callback_items(db, "reply")) == 1  # the stranger's reply is stored, owed to nobody


def test_an_opt_out_reply_puts_the_number_on_the_list(db: Database) -> None:
    account = make_account(db)
    mo = InboundIn("smsc-1", "1069000", "13800138000", "1069000" + account.extension, " td ")
    first, second = run(db, store_inbound, [mo, mo], 1_500)  # a redelivered MO changes nothing more
    assert first.opted_out and second.opted_out
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(optouts.c.account_id, optouts.c.mobile)).all()
    assert [tuple(r) for r in rows] == [(account.id, "13800138000")]


def test_overlong_ids_from_an_smsc_are_cut_alike_and_still_match(db: Database) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    long_id = "X" * 70
    run(db, claim, ME, 1_001, 10, 30)
    run(db, apply_receipts, [receipt(long_id)], 1_005)  # before its part: kept
    summary = run(db, record_results, ME, [Submitted(message_id, "smsc-1", (long_id,))], 1_006)
    assert summary.finished == 1
    assert parts(db, message_id)[0].remote_id == long_id[:64]
    run(db, apply_receipts, [receipt(long_id)], 1_007)  # a duplicate: no second report
    assert len(callback_items(db)) == 1


def test_renewal_can_leave_leases_with_time_to_run_alone(db: Database) -> None:
    account = make_account(db)
    queue(db, account, ["13800138000", "13800138001"])
    run(db, claim, ME, 1_001, 1, 30)  # lease until 1_031
    run(db, claim, ME, 1_020, 1, 30)  # lease until 1_050
    assert run(db, renew_leases, ME, 1_060, 1_040) == 1  # only the lease ending before 1_040
    assert run(db, requeue_expired, 1_045) == 0
    assert run(db, requeue_expired, 1_051) == 1  # not renewed: its own lease ran out
    assert run(db, requeue_expired, 1_061) == 1


def test_claims_and_leases_use_the_partial_indexes_of_their_states(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("reads SQLite's query plans")

    def plan(conn: sa.Connection, statement: sa.ClauseElement, params: dict[str, object]) -> str:
        compiled = statement.compile(dialect=conn.dialect)
        values = compiled.construct_params(params)
        args = tuple(values[name] for name in compiled.positiontup or ())
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args)
        return " | ".join(str(row[-1]) for row in rows)

    claiming = {"b_now": 0, "b_limit": 1, "b_owner": "x", "b_until": 0}
    assert "ix_messages_queued" in run(db, plan, dispatch_store._CLAIM, claiming)
    renew = sa.update(messages).where(dispatch_store._in_state(SUBMITTING), messages.c.lease_owner == "x")
    assert "ix_messages_leased" in run(db, plan, renew.values(lease_until=1), {})
