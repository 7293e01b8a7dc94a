"""Limits that hold across a restart: frequency limits counted from the stored messages inside the
acceptance, a customer's calls a day and a caller's sends a minute in `limit_counters` (both backends)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.domain.frequency import DEFAULT_LIMITS, Limit
from smsplatform.domain.templates import TemplateKind
from smsplatform.store import accounts, customers
from smsplatform.store.accounts import Account
from smsplatform.store.database import Database
from smsplatform.store.limits import (
    SCOPE_CALLER,
    StoredSendHistory,
    StoreRequestLimits,
    caller_counts,
    count_requests,
    requests_today,
    store_caller_counts,
)
from smsplatform.store.outbox import Accepted, NewMessage, Refused, SendRequest, accept_send, accept_sends
from smsplatform.store.rollups import DAY, period_start
from smsplatform.store.schema import limit_counters, messages, optouts, sends
from tests.api.fast_databases import BACKENDS, fresh_database_url
from tests.waiting import wait_for


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    return fresh_database_url(request)


NOW = 1_700_000_000
A, B = "13800138001", "13800138002"
FREQUENCY = ("210", "指定时间内发送数量超限")
VERIFICATION = {"verification": DEFAULT_LIMITS[TemplateKind.VERIFICATION]}
MARKETING = {"marketing": DEFAULT_LIMITS[TemplateKind.MARKETING]}


def over(mobile: str) -> dict[str, str]:
    return {"mobile": mobile, "status": FREQUENCY[0], "msg": FREQUENCY[1]}


def message(mobile: str, kind: str = "verification", position: int = 0) -> NewMessage:
    return NewMessage(mobile, "验证码1234【甲方】", 1, kind, "mobile", position)


def request(account: Account, *batch: NewMessage, now: int = NOW, **extra: Any) -> SendRequest:
    return SendRequest(
        customer_id=account.customer_id,
        account_id=account.id,
        messages=batch,
        now=now,
        limits=extra.pop("limits", VERIFICATION),
        frequency_error=FREQUENCY,
        opted_out_error=("233", "号码已退订"),
        **extra,
    )


def accepted(outcome: object) -> int:
    """How many messages an outcome accepted."""
    return int(outcome.result["count"]) if isinstance(outcome, Accepted) else 0


@pytest.fixture
def conn(db: Database) -> Iterator[sa.Connection]:
    with db.engine.begin() as connection:
        yield connection


def new_account(conn: sa.Connection, signature: str = "【甲方】", totalnum: int = 1000) -> Account:
    customer = customers.create_customer(conn, "客户", 100_000)
    fields = {"company": "c", "signature": signature, "totalnum": totalnum}
    return accounts.create_account(conn, customer.id, fields, approve=True)


@pytest.fixture
def account(conn: sa.Connection) -> Account:
    return new_account(conn)


# --- per number: the stored messages --------------------------------------------------------------


def test_verification_codes_4_a_minute_5_an_hour_8_a_day(conn: sa.Connection, account: Account) -> None:
    def send(at: int) -> object:
        return accept_send(conn, request(account, message(A), now=NOW + at))

    assert [accepted(send(t)) for t in (0, 10, 20, 30)] == [1] * 4
    refused = send(40)
    assert refused == Refused("limits", [], [over(A)])
    assert accepted(send(61)) == 1  # the minute passed: the 5th of the hour
    assert accepted(send(600)) == 0  # the hour has its 5
    assert [accepted(send(t)) for t in (3662, 3663, 3664)] == [1] * 3  # the day's 8
    assert accepted(send(7300)) == 0
    assert accepted(send(86399)) == 0
    assert accepted(send(86401)) == 1  # the first send left the day
    assert conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar() == 9


def test_a_number_twice_in_one_request_counts_twice(conn: sa.Connection, account: Account) -> None:
    outcome = accept_send(
        conn,
        request(account, message(B, "marketing", 0), message(B, "marketing", 1), limits=MARKETING),
    )
    assert isinstance(outcome, Accepted)
    assert outcome.result["count"] == "1"
    assert outcome.result["failed"] == [over(B)]


def test_requests_in_one_batch_count_each_other(conn: sa.Connection, account: Account) -> None:
    outcomes = accept_sends(conn, [request(account, message(A)) for _ in range(6)])
    assert [accepted(o) for o in outcomes] == [1, 1, 1, 1, 0, 0]


def test_what_was_not_accepted_is_not_counted(conn: sa.Connection) -> None:
    poor = new_account(conn, totalnum=1)
    # Refused for its quota (two numbers, one segment left): neither number used its allowance.
    outcomes = accept_sends(
        conn,
        [
            request(poor, message(A, "marketing"), message(B, "marketing", 1), limits=MARKETING),
            request(poor, message(A, "marketing"), limits=MARKETING),
        ],
    )
    assert isinstance(outcomes[0], Refused) and outcomes[0].reason == "quota"
    assert accepted(outcomes[1]) == 1
    # Opted out: skipped, and not counted either.
    rich = new_account(conn, "【乙方】")
    conn.execute(sa.insert(optouts).values(account_id=rich.id, mobile=B, created_at=NOW))
    skipped = accept_send(conn, request(rich, message(B, "marketing"), limits=MARKETING))
    assert isinstance(skipped, Refused) and skipped.reason == "opted_out"
    conn.execute(sa.delete(optouts))
    assert accepted(accept_send(conn, request(rich, message(B, "marketing"), limits=MARKETING))) == 1


def test_sub_accounts_kinds_and_numbers_are_counted_apart(conn: sa.Connection, account: Account) -> None:
    other = new_account(conn, "【乙方】")
    both = {**VERIFICATION, **MARKETING}
    assert accepted(accept_send(conn, request(account, message(A, "marketing"), limits=both))) == 1
    assert accepted(accept_send(conn, request(account, message(A, "marketing"), limits=both))) == 0
    assert accepted(accept_send(conn, request(account, message(A, "verification"), limits=both))) == 1
    assert accepted(accept_send(conn, request(account, message(B, "marketing"), limits=both))) == 1
    assert accepted(accept_send(conn, request(other, message(A, "marketing"), limits=both))) == 1
    # A kind without limits is not counted.
    for _ in range(3):
        assert accepted(accept_send(conn, request(account, message(A, "notification"), limits=both))) == 1


def test_skipped_numbers_are_listed_in_request_order(conn: sa.Connection, account: Account) -> None:
    accept_send(conn, request(account, message(A, "marketing"), limits=MARKETING))
    invalid = [
        {"mobile": "123", "status": "202", "msg": "手机号有误"},
        {"mobile": "9", "status": "202", "msg": "x"},
    ]
    outcome = accept_send(
        conn,
        request(
            account,
            message(A, "marketing", 1),
            message(B, "marketing", 3),
            limits=MARKETING,
            failed=invalid,
            failed_at=[0, 2],
        ),
    )
    assert isinstance(outcome, Accepted)
    assert outcome.result["failed"] == [invalid[0], over(A), invalid[1]]


def test_the_history_matches_every_stored_send(conn: sa.Connection, account: Account) -> None:
    """Three days of sends, out of order by a few seconds as concurrent writers leave them: the id floor
    of the window never hides one that counts."""
    rng = random.Random(7)
    send_id = conn.execute(
        sa.insert(sends).values(
            customer_id=account.customer_id, account_id=account.id, count=0, fee=0, created_at=NOW
        )
    ).inserted_primary_key[0]
    rows = [
        {"send_id": send_id, "customer_id": account.customer_id, "account_id": account.id,
         "mobile": rng.choice((A, B)), "content": "c", "kind": "verification", "segments": 1,
         "carrier": "mobile", "state": "queued", "created_at": NOW - 3 * DAY + n * 86 + rng.randint(-5, 5)}
        for n in range(3000)
    ]  # fmt: skip
    conn.execute(sa.insert(messages), rows)
    history = StoredSendHistory()
    for since in (NOW - 4 * DAY, NOW - 2 * DAY, NOW - DAY - 7, NOW - 3600, NOW - 61, NOW + 10):
        found = history.sent(conn, [account.id], [A, B], since)
        for mobile in (A, B):
            expected = sorted(
                r["created_at"] for r in rows if r["mobile"] == mobile and r["created_at"] > since
            )
            assert found.get((account.id, "verification", mobile), []) == expected, since


def test_other_processes_accepting_at_once_never_pass_the_limit(database_url: str) -> None:
    """Two writers (as two processes have) accept for one number at the same moment: SQLite's writers
    take turns, PostgreSQL's acceptance locks its sub-account's row first."""
    first, second = (Database.open(database_url, run_migrations=False) for _ in range(2))
    try:
        with first.engine.begin() as conn:
            account = new_account(conn)
        start = threading.Barrier(2)

        def accept(db: Database) -> list[int]:
            start.wait()
            counts = []
            for _ in range(6):
                with db.engine.begin() as conn:
                    counts.append(accepted(accept_send(conn, request(account, message(A)))))
            return counts

        results: list[list[int]] = []
        threads = [threading.Thread(target=lambda d=d: results.append(accept(d))) for d in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sum(map(sum, results)) == 4  # verification: 4 a minute
        with first.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar() == 4
    finally:
        first.close()
        second.close()


# --- per customer a day -----------------------------------------------------------------------------


def test_a_customers_calls_are_counted_per_local_day(conn: sa.Connection) -> None:
    today = period_start(DAY, NOW)
    asks = [("7", today, 3)] * 4 + [("8", today, 3)]
    assert count_requests(conn, asks) == [True, True, True, False, True]
    assert count_requests(conn, [("7", today, 3), ("7", today, 4)]) == [False, True]
    assert count_requests(conn, [("7", today + DAY, 3)]) == [True]  # a new day
    assert count_requests(conn, [("9", today, 0)]) == [False]
    assert requests_today(conn, 7, NOW) == 4
    assert requests_today(conn, 8, NOW) == 1
    assert requests_today(conn, 9, NOW) == 0
    # Days before yesterday are forgotten.
    count_requests(conn, [("7", today + 2 * DAY, 3)])
    days = conn.execute(sa.select(limit_counters.c.window_start).where(limit_counters.c.key == "7")).scalars()
    assert sorted(days) == [today + DAY, today + 2 * DAY]


# --- per caller -------------------------------------------------------------------------------------


def test_caller_counts_add_up_and_old_ones_are_forgotten(conn: sa.Connection) -> None:
    store_caller_counts(conn, [("10.0.0.1", NOW, 2), ("10.0.0.2", NOW + 1, 1)], NOW - 60)
    store_caller_counts(conn, [("10.0.0.1", NOW, 3), ("10.0.0.1", NOW + 1, 1)], NOW - 60)
    assert sorted(caller_counts(conn, NOW)) == [
        ("10.0.0.1", NOW, 5),
        ("10.0.0.1", NOW + 1, 1),
        ("10.0.0.2", NOW + 1, 1),
    ]
    assert sorted(caller_counts(conn, NOW + 1)) == [("10.0.0.1", NOW + 1, 1), ("10.0.0.2", NOW + 1, 1)]
    store_caller_counts(conn, [], NOW + 1)
    assert sorted(caller_counts(conn, 0)) == [("10.0.0.1", NOW + 1, 1), ("10.0.0.2", NOW + 1, 1)]
    assert conn.execute(sa.select(limit_counters.c.scope).distinct()).scalars().all() == [SCOPE_CALLER]


PER_MINUTE = (Limit(1, 100), Limit(60, 3))


async def test_a_callers_minute_outlives_the_process(db: Database) -> None:
    now = time.time()
    limits = StoreRequestLimits(db)
    assert [await limits.allow_caller("10.0.0.1", PER_MINUTE, now + i / 10) for i in range(4)] == [
        True, True, True, False
    ]  # fmt: skip
    assert await limits.allow_caller("10.0.0.2", PER_MINUTE, now)
    await limits.close()  # what shutdown does
    again = StoreRequestLimits(db)
    assert not await again.allow_caller("10.0.0.1", PER_MINUTE, now + 1)
    assert await again.allow_caller("10.0.0.2", PER_MINUTE, now + 1)
    # The minute (and the second its last bucket began in) passes.
    assert await again.allow_caller("10.0.0.1", PER_MINUTE, now + 61.5)
    await again.close()


async def test_caller_counts_are_stored_within_a_second_without_shutdown(db: Database) -> None:
    limits = StoreRequestLimits(db)
    now = time.time()
    for _ in range(3):
        assert await limits.allow_caller("10.0.0.1", PER_MINUTE, now)

    async def counts_stored() -> bool:
        return sum(n for _, _, n in await db.read(caller_counts, 0)) >= 3

    await wait_for(counts_stored, within=5.0, what="the counts to be stored without a shutdown", every=0.05)
    # As after a SIGKILL: a new process, nothing handed over but the store.
    assert not await StoreRequestLimits(db).allow_caller("10.0.0.1", PER_MINUTE, now + 1)
    await limits.close()


async def test_the_daily_limit_is_shared_by_processes(db: Database) -> None:
    now = time.time()
    first, second = StoreRequestLimits(db), StoreRequestLimits(db)
    assert await first.allow_request(5, 3, now)
    assert await second.allow_request(5, 3, now)
    assert await first.allow_request(5, 3, now)
    assert not await second.allow_request(5, 3, now)
    assert not await first.allow_request(5, 3, now)
    assert await first.allow_request(6, 3, now)
    results = await asyncio.gather(*(first.allow_request(7, 10, now) for _ in range(25)))
    assert results.count(True) == 10
