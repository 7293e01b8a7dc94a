"""Claims on the outbox: leases, their renewal and their return (both backends)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from smsplatform.domain.message_states import QUEUED, SUBMITTING
from smsplatform.domain.submit_outcomes import Retry
from smsplatform.store import claims, message_rows
from smsplatform.store.claims import claim, release_leases, renew_leases, requeue_expired
from smsplatform.store.database import Database
from smsplatform.store.results import record_results
from smsplatform.store.schema import messages
from tests.dispatch.support import make_account, message, queue, run
from tests.store.outbox_support import ME, OTHER


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
    assert "ix_messages_queued" in run(db, plan, claims.CLAIM, claiming)
    renew = sa.update(messages).where(message_rows.in_state(SUBMITTING), messages.c.lease_owner == "x")
    assert "ix_messages_leased" in run(db, plan, renew.values(lease_until=1), {})
