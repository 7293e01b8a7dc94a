"""Claims on the outbox: leases, their renewal and their return (both backends)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from smsplatform.domain.expiry import DEFAULT_MAX_AGES
from smsplatform.domain.message_states import QUEUED, SUBMITTING
from smsplatform.domain.submit_outcomes import Retry
from smsplatform.store import claims, message_rows, partitions
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


def test_a_carrier_filter_leaves_the_other_carriers_messages_queued(db: Database) -> None:
    """A dispatcher whose links cannot carry some carriers (their binds are leased elsewhere) claims
    around them: their messages stay queued for a process that can."""
    account = make_account(db)
    mobile = queue(db, account, ["13800138000", "13800138001"], carrier="mobile")
    unicom = queue(db, account, ["13000130000"], carrier="unicom")
    telecom = queue(db, account, ["13300133000"], carrier="telecom")
    excluded = claims.CarrierFilter(excluded=frozenset({"mobile"}))
    assert sorted(m.id for m in run(db, claim, ME, 1_001, 10, 30, DEFAULT_MAX_AGES, excluded)) == [
        *unicom,
        *telecom,
    ]
    assert run(db, claim, ME, 1_001, 10, 30, DEFAULT_MAX_AGES, claims.CarrierFilter(only=frozenset())) == []
    only = claims.CarrierFilter(only=frozenset({"mobile", "broadnet"}))
    assert [m.id for m in run(db, claim, OTHER, 1_001, 1, 30, DEFAULT_MAX_AGES, only)] == mobile[:1]
    assert [m.id for m in run(db, claim, OTHER, 1_001, 10, 30)] == mobile[1:]


def test_concurrent_claims_on_postgresql_lease_each_message_once_and_never_past_the_limit(
    postgres_url: str,
) -> None:
    """Claimers passing each other by (SKIP LOCKED) each get at most their limit, and no message twice."""
    db = Database.open(postgres_url, run_migrations=False)
    try:
        account = make_account(db)
        ids = queue(db, account, [f"138{n:08d}" for n in range(400)])
        taken: list[list[int]] = []
        lock = threading.Lock()

        def claimer(number: int) -> None:
            while True:
                batch = [m.id for m in run(db, claim, f"dispatcher-{number}", 1_001, 7, 30)]
                with lock:
                    taken.append(batch)
                if not batch:
                    return

        threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        leased = [message_id for batch in taken for message_id in batch]
        assert max(len(batch) for batch in taken) <= 7
        assert sorted(leased) == ids  # every message once: none twice, none left
    finally:
        db.close()


def test_a_postgresql_claim_reads_only_the_days_that_hold_live_messages(postgres_url: str) -> None:
    """A queued message in an old day's partition is still claimed, and the claim plans and scans only
    the partitions from the oldest live day to tomorrow's, not every day of the retention."""
    db = Database.open(postgres_url, run_migrations=False)
    try:
        today = partitions.day_of(int(time.time()))
        with db.engine.begin() as conn:
            partitions.create_ahead(conn, today - 6, days_ahead=14)
        account = make_account(db)
        old, new = queue(db, account, ["13800000001", "13800000002"])
        old_id = partitions.first_id_of_day(today - 3) + 7
        with db.engine.begin() as conn:
            conn.execute(sa.update(messages).where(messages.c.id == old).values(id=old_id))
        claims._floors.clear()

        with db.engine.begin() as conn:
            floor, ceiling = claims._live_ids(conn)
            plan = "\n".join(
                conn.exec_driver_sql(
                    "EXPLAIN SELECT id FROM messages WHERE state = 'queued' AND id >= %s AND id < %s",
                    (floor, ceiling),
                ).scalars()
            )
        scanned = {day for day in range(today - 6, today + 9) if partitions.partition_name(day) in plan}
        assert scanned == set(range(today - 3, today + 2))

        claimed = [m.id for m in run(db, claim, "dispatcher", 1_001, 10, 30)]
        assert sorted(claimed) == sorted([old_id, new])
    finally:
        db.close()
