"""The callbacks outbox: enqueue only where a URL is set, lease, settle, and leases that run out."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from smsplatform.store.accounts import create_account, update_account
from smsplatform.store.callbacks import (
    DEAD,
    DONE,
    PENDING,
    claim_due,
    count_by_state,
    enqueue_reply,
    enqueue_report,
    enqueue_reports,
    purge_settled,
    release,
    settle,
)
from smsplatform.store.customers import create_customer
from smsplatform.store.database import Database
from smsplatform.store.schema import callback_errors, callbacks

T = TypeVar("T")


def run(db: Database, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with db.engine.begin() as conn:
        return fn(conn, *args, **kwargs)


@dataclass(frozen=True)
class Setup:
    customer_id: int
    appkey: str
    both: int  # statusurl and replyurl (with Basic credentials)
    status_only: int
    neither: int


@pytest.fixture
def setup(db: Database) -> Setup:
    customer = run(db, create_customer, "acme", 1000)

    def account(signature: str, **urls: str) -> int:
        fields = {"company": "Acme", "signature": signature, "totalnum": 10, **urls}
        return run(db, create_account, customer.id, fields, approve=True).id

    return Setup(
        customer_id=customer.id,
        appkey=customer.appkey,
        both=account(
            "acme",
            statusurl="https://example.com/status",
            replyurl="https://example.com/reply",
            replyusername="u",
            replypassword="p",
        ),
        status_only=account("acme2", statusurl="https://example.com/s2"),
        neither=account("acme3"),
    )


def report(n: int) -> dict[str, str]:
    return {"msgid": str(n), "mobile": "13800138000", "status": "DELIVRD", "success": "1", "reportid": str(n)}


def rows(db: Database) -> list[sa.Row[Any]]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(callbacks).order_by(callbacks.c.id)))


def test_enqueue_only_where_the_url_is_set(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    run(db, enqueue_report, setup.neither, report(2), 100)
    run(db, enqueue_reply, setup.status_only, {"replyid": "9"}, 100)  # no replyurl
    run(db, enqueue_reply, setup.both, {"replyid": "7", "content": "退订"}, 100)
    run(db, enqueue_report, 999_999, report(3), 100)  # no such account
    stored = rows(db)
    assert [(r.account_id, r.kind) for r in stored] == [(setup.both, "report"), (setup.both, "reply")]
    assert json.loads(stored[0].payload) == report(1)
    assert json.loads(stored[1].payload) == {"replyid": "7", "content": "退订"}
    assert all(r.state == PENDING and r.next_attempt_at == 100 and r.created_at == 100 for r in stored)


def test_enqueue_reports_filters_and_keeps_every_item(db: Database, setup: Setup) -> None:
    batch = [(setup.both, report(1)), (setup.neither, report(2)), (setup.status_only, report(3))]
    batch += [(setup.both, report(n)) for n in range(4, 1004)]
    run(db, enqueue_reports, batch, 50)
    run(db, enqueue_reports, [], 50)
    stored = rows(db)
    assert len(stored) == 1002
    assert {json.loads(r.payload)["msgid"] for r in stored} == {"1", "3"} | {str(n) for n in range(4, 1004)}
    assert {r.account_id for r in stored} == {setup.both, setup.status_only}


def test_claim_joins_the_target_and_leases(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    run(db, enqueue_reply, setup.both, {"replyid": "7"}, 100)
    run(db, enqueue_report, setup.status_only, report(2), 150)  # not due yet at 120
    claimed = run(db, claim_due, 120, 10, lease_seconds=60)
    assert [(c.kind, c.url, c.username, c.password) for c in claimed] == [
        ("report", "https://example.com/status", "", ""),
        ("reply", "https://example.com/reply", "u", "p"),
    ]
    assert all(c.appkey == setup.appkey and c.attempts == 1 and c.created_at == 100 for c in claimed)
    # Leased: nobody else sees them until the lease runs out.
    assert [json.loads(c.payload) for c in run(db, claim_due, 170, 10, lease_seconds=60)] == [report(2)]
    assert run(db, claim_due, 179, 10) == []
    again = run(db, claim_due, 180, 10, lease_seconds=60)  # a crashed worker's claims come back
    assert [c.id for c in again] == [c.id for c in claimed]
    assert [c.attempts for c in again] == [2, 2]


def test_claim_respects_the_limit_oldest_first(db: Database, setup: Setup) -> None:
    for n in range(5):
        run(db, enqueue_report, setup.both, report(n), 100 - n)
    claimed = run(db, claim_due, 100, 3)
    assert [json.loads(c.payload)["msgid"] for c in claimed] == ["2", "3", "4"]
    assert len(run(db, claim_due, 100, 3)) == 2


def test_a_removed_url_is_claimed_with_an_empty_url(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.status_only, report(1), 100)
    run(db, update_account, setup.customer_id, setup.status_only, {"statusurl": ""}, approve=True)
    [claimed] = run(db, claim_due, 100, 10)
    assert claimed.url == ""


def test_settle_done_retry_dead(db: Database, setup: Setup) -> None:
    for n in range(3):
        run(db, enqueue_report, setup.both, report(n), 100)
    a, b, c = (x.id for x in run(db, claim_due, 100, 10))
    run(db, settle, done=[a], retries=[(b, 130, "HTTP 500")], dead=[(c, "HTTP 500")], now=110)
    by_id = {r.id: r for r in rows(db)}
    assert (by_id[a].state, by_id[a].done_at, by_id[a].lease_until) == (DONE, 110, None)
    assert (by_id[b].state, by_id[b].next_attempt_at, by_id[b].last_error) == (PENDING, 130, "HTTP 500")
    assert (by_id[c].state, by_id[c].done_at, by_id[c].last_error) == (DEAD, 110, "HTTP 500")
    assert run(db, claim_due, 129, 10) == []
    assert [x.id for x in run(db, claim_due, 130, 10)] == [b]
    assert run(db, count_by_state) == {PENDING: 1, DONE: 1, DEAD: 1}


def failed_attempts(db: Database) -> list[tuple[int, int, str, int]]:
    """callback_errors as (callback_id, attempt, error, at), in the order written."""
    with db.engine.connect() as conn:
        c = callback_errors.c
        query = sa.select(c.callback_id, c.attempt, c.error, c.at).order_by(c.id)
        return [tuple(row) for row in conn.execute(query)]


def test_every_failed_attempt_is_kept_with_the_receivers_answer(db: Database, setup: Setup) -> None:
    run(db, enqueue_reports, [(setup.both, report(n)) for n in range(3)], 100)
    a, b, c = (x.id for x in run(db, claim_due, 100, 10))
    run(db, settle, done=[a], retries=[(b, 130, "HTTP 500"), (c, 130, "x" * 300)], now=110)
    assert failed_attempts(db) == [(b, 1, "HTTP 500", 110), (c, 1, "x" * 200, 110)]
    assert [x.id for x in run(db, claim_due, 130, 10)] == [b, c]
    run(db, settle, retries=[(b, 170, "connection refused")], dead=[(c, "HTTP 404")], now=140)
    assert failed_attempts(db)[2:] == [(b, 2, "connection refused", 140), (c, 2, "HTTP 404", 140)]


def test_reports_keep_the_message_they_are_about(db: Database, setup: Setup) -> None:
    run(db, enqueue_reports, [(setup.both, report(41)), (setup.status_only, report(42))], 100)
    run(db, enqueue_report, setup.both, report(43), 100)
    run(db, enqueue_reply, setup.both, {"replyid": "7"}, 100)
    assert [(r.kind, r.message_id) for r in rows(db)] == [
        ("report", 41),
        ("report", 42),
        ("report", 43),
        ("reply", None),
    ]


def test_a_late_failure_does_not_revive_a_settled_row(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    [first] = run(db, claim_due, 100, 10, lease_seconds=10)
    [second] = run(db, claim_due, 110, 10, lease_seconds=10)  # the first worker's lease ran out
    run(db, settle, done=[second.id], now=111)
    run(db, settle, retries=[(first.id, 200, "timeout")], now=112)
    run(db, settle, dead=[(first.id, "timeout")], now=112)
    [row] = rows(db)
    assert (row.state, row.done_at, row.last_error) == (DONE, 111, "")
    assert failed_attempts(db) == []  # the row's second attempt succeeded: nothing to show against it


def test_a_dead_row_stays_dead_and_a_settled_row_is_not_released(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    run(db, enqueue_report, setup.both, report(2), 100)
    dead, done = (x.id for x in run(db, claim_due, 100, 10))
    run(db, settle, done=[done], dead=[(dead, "HTTP 404")], now=110)
    run(db, settle, done=[dead], now=120)  # a late acknowledgement of a row given up meanwhile
    run(db, release, [done], 130)
    assert [(r.state, r.done_at, r.attempts) for r in rows(db)] == [(DEAD, 110, 1), (DONE, 110, 1)]


def test_settling_and_releasing_more_rows_than_one_statement_takes(db: Database, setup: Setup) -> None:
    run(db, enqueue_reports, [(setup.both, report(n)) for n in range(2000)], 100)
    claimed = [x.id for x in run(db, claim_due, 100, 2000)]
    assert len(claimed) == 2000
    run(db, release, claimed[1000:], 105)
    run(db, settle, done=claimed[:1000], now=110)
    assert run(db, count_by_state) == {PENDING: 1000, DONE: 1000, DEAD: 0}
    assert {(r.attempts, r.next_attempt_at) for r in rows(db)[1000:]} == {(0, 105)}


def test_failing_more_rows_than_one_statement_takes(db: Database, setup: Setup) -> None:
    run(db, enqueue_reports, [(setup.both, report(n)) for n in range(2000)], 100)
    claimed = [x.id for x in run(db, claim_due, 100, 2000)]
    retries = [(i, 130, "HTTP 500") for i in claimed[:1000]]
    run(db, settle, retries=retries, dead=[(i, "HTTP 404") for i in claimed[1000:]], now=110)
    assert run(db, count_by_state) == {PENDING: 1000, DONE: 0, DEAD: 1000}
    assert {(r.state, r.next_attempt_at, r.last_error) for r in rows(db)[:1000]} == {
        (PENDING, 130, "HTTP 500")
    }
    assert sorted(failed_attempts(db)) == sorted(
        [(i, 1, "HTTP 500", 110) for i in claimed[:1000]] + [(i, 1, "HTTP 404", 110) for i in claimed[1000:]]
    )


def test_long_errors_are_cut_to_the_column(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    [claimed] = run(db, claim_due, 100, 10)
    run(db, settle, retries=[(claimed.id, 101, "x" * 500)], now=100)
    assert rows(db)[0].last_error == "x" * 200


def test_release_hands_unsent_claims_back(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    [claimed] = run(db, claim_due, 100, 10)
    run(db, release, [claimed.id], 105)
    [row] = rows(db)
    assert (row.state, row.attempts, row.next_attempt_at, row.lease_until) == (PENDING, 0, 105, None)


def test_each_failure_keeps_its_own_error(db: Database, setup: Setup) -> None:
    for n in range(4):
        run(db, enqueue_report, setup.both, report(n), 100)
    a, b, c, d = (x.id for x in run(db, claim_due, 100, 10))
    run(
        db,
        settle,
        retries=[(a, 110, "HTTP 500"), (b, 120, "timed out")],
        dead=[(c, "HTTP 404"), (d, "x")],
        now=101,
    )
    assert [(r.state, r.next_attempt_at, r.done_at, r.last_error) for r in rows(db)[:2]] == [
        (PENDING, 110, None, "HTTP 500"),
        (PENDING, 120, None, "timed out"),
    ]
    assert [(r.state, r.done_at, r.last_error) for r in rows(db)[2:]] == [
        (DEAD, 101, "HTTP 404"),
        (DEAD, 101, "x"),
    ]


def test_concurrent_claims_take_disjoint_rows_without_waiting(db: Database, setup: Setup) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has a single writer: two claims never run at the same time")
    for n in range(4):
        run(db, enqueue_report, setup.both, report(n), 100)
    with db.engine.connect() as first, db.engine.connect() as second:
        first.begin()
        mine = claim_due(first, 100, 2)
        second.begin()
        second.exec_driver_sql("SET LOCAL lock_timeout = '2s'")  # fail, rather than hang, if rows were locked
        theirs = claim_due(second, 100, 10)
        assert len(mine) == 2 and len(theirs) == 2
        assert not {c.id for c in mine} & {c.id for c in theirs}
        first.commit()
        second.commit()


def test_claim_leaves_out_the_pairs_asked_to_skip(db: Database, setup: Setup) -> None:
    run(db, enqueue_report, setup.both, report(1), 100)
    run(db, enqueue_reply, setup.both, {"replyid": "1"}, 100)
    run(db, enqueue_report, setup.status_only, report(2), 100)
    claimed = run(db, claim_due, 100, 10, skip=[(setup.both, "reply"), (setup.status_only, "report")])
    assert [(c.account_id, c.kind) for c in claimed] == [(setup.both, "report")]
    assert [(c.account_id, c.kind) for c in run(db, claim_due, 100, 10)] == [
        (setup.both, "reply"),
        (setup.status_only, "report"),
    ]


def test_purge_deletes_old_settled_rows_only(db: Database, setup: Setup) -> None:
    for n in range(5):
        run(db, enqueue_report, setup.both, report(n), 100)
    a, b, c, d, e = (x.id for x in run(db, claim_due, 100, 10, lease_seconds=10))  # leased until 110
    run(db, settle, done=[a, b, c], dead=[(d, "HTTP 500")], now=105)
    assert run(db, purge_settled, DONE, 110, 10) == 0  # settled at 110 at the latest: not before 110
    assert run(db, purge_settled, DONE, 111, 2) == 2
    assert run(db, purge_settled, DONE, 111, 2) == 1
    assert [r.id for r in rows(db)] == [d, e]
    assert run(db, purge_settled, DEAD, 111, 10) == 1
    assert [(r.id, r.state) for r in rows(db)] == [(e, PENDING)]


def test_purge_takes_a_callbacks_failed_attempts_with_it(db: Database, setup: Setup) -> None:
    for n in range(2):
        run(db, enqueue_report, setup.both, report(n), 100)
    kept, purged = (x.id for x in run(db, claim_due, 100, 10, lease_seconds=10))
    run(db, settle, retries=[(kept, 150, "HTTP 502"), (purged, 150, "HTTP 503")], now=105)
    run(db, settle, dead=[(purged, "HTTP 500")], now=106)

    def errors_of() -> set[int]:
        with db.engine.connect() as conn:
            return set(conn.execute(sa.select(callback_errors.c.callback_id)).scalars())

    assert errors_of() == {kept, purged}
    assert run(db, purge_settled, DEAD, 10_000, 10) == 1
    assert errors_of() == {kept}
