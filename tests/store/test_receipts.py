"""Status reports: each settles its own segment, and a message ends with one report (both backends)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from smsplatform.domain.message_states import DELIVERED, EXPIRED, REJECTED, SUBMITTED, UNDELIVERED
from smsplatform.domain.payloads import local_time
from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store.claims import claim
from smsplatform.store.database import Database
from smsplatform.store.receipts import (
    ReceiptIn,
    ReceiptSummary,
    apply_receipts,
    purge_unmatched,
    rematch_receipts,
)
from smsplatform.store.results import record_results
from smsplatform.store.schema import callbacks, message_parts, messages
from tests.dispatch.support import callback_items, make_account, message, parts, queue, run
from tests.store.outbox_support import LONG_TEXT, ME, failed_attempts, receipt, submit, unmatched_count
from tests.waiting import wait_until

# --- receipts ------------------------------------------------------------------------------------


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
    recorded = run(db, record_results, ME, [Submitted(m, "smsc-1", (f"r{m}",)) for m in ids], 1_010)
    assert recorded.submitted == 1200
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


@pytest.mark.postgres
def test_two_parts_of_one_message_settled_side_by_side_end_it_once(postgres_url: str) -> None:
    """On PostgreSQL receipts are applied by transactions running side by side: the second receipt of
    a long message waits for the first's transaction (its message's row lock) and then sees both
    parts final, so the message ends, with one report, whichever commits last."""
    db = Database.open(postgres_url, run_migrations=False)
    try:
        account = make_account(db)
        [message_id] = queue(db, account, ["13800138000"], LONG_TEXT)
        run(db, claim, ME, 1_001, 10, 30)
        submit(db, message_id, "a1", "a2", "a3")
        run(db, apply_receipts, [receipt("a3")], 1_015)
        second: list[ReceiptSummary] = []

        def apply_second() -> None:
            with db.engine.begin() as conn:
                second.append(apply_receipts(conn, [receipt("a2")], 1_021))

        with db.engine.connect() as first:
            transaction = first.begin()
            assert apply_receipts(first, [receipt("a1")], 1_020).finished == 0  # a2 still open for it
            other = threading.Thread(target=apply_second)
            other.start()
            with db.engine.connect() as watcher:
                waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
                wait_until(lambda: watcher.exec_driver_sql(waiting).scalar(), 30, "the second to wait")
            transaction.commit()
            other.join(30)
        assert [s.finished for s in second] == [1]
        assert message(db, message_id).state == DELIVERED
        assert [r["reportid"] for r in callback_items(db)] == [str(message_id)]
    finally:
        db.close()
