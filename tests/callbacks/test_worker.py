"""The worker against a real receiver on loopback: what customers' servers see, and what the outbox keeps."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.callbacks.schedule import RetrySchedule
from smsplatform.callbacks.worker import CallbackWorker
from smsplatform.store.accounts import update_account
from smsplatform.store.callbacks import (
    DEAD,
    DONE,
    PENDING,
    claim_due,
    enqueue_reply,
    enqueue_report,
    enqueue_reports,
    purge_settled,
)
from smsplatform.store.customers import rotate_appkey
from smsplatform.store.database import Database
from smsplatform.store.schema import callback_errors
from tests.callbacks.receiver import Received, Receiver
from tests.callbacks.support import (
    Clock,
    Customer,
    StoreWrites,
    add_account,
    eventually,
    eventually_async,
    outbox_rows,
    reply,
    report,
    running,
)
from tests.waiting import wait_for

AT_ONCE = RetrySchedule(delays=(0,))


def worker(db: Database, **options: Any) -> CallbackWorker:
    options.setdefault("allow_private", True)
    options.setdefault("poll_interval", 0.02)
    return CallbackWorker(db, **options)


def signed_by(request: Received, appkey: str) -> bool:
    expected = hmac.new(appkey.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["x-signature"], expected)


async def refuses_report_1(request: Received) -> int:
    """A receiver that answers 500 to any batch holding report 1, and takes every other."""
    return 500 if any(item["msgid"] == "1" for item in request.json()) else 200


def delivered_items_sent(receiver: Receiver, key: str) -> list[str]:
    """The `key` of every item the receiver got, answered or not."""
    return [item[key] for request in receiver.requests for item in request.json()]


def delivered_items(receiver: Receiver, key: str) -> list[str]:
    """The `key` of every item in an acknowledged request, repeats included."""
    found: list[str] = []
    for request in receiver.acknowledged():
        body = request.json()
        found += [item[key] for item in (body if isinstance(body, list) else [body])]
    return found


async def test_reports_arrive_signed_in_batches_of_at_most_100(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(250)], int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == 250)
    assert sorted(len(r.json()) for r in receiver.requests) == [50, 100, 100]
    for request in receiver.requests:
        assert request.path == "/status"
        assert request.headers["content-type"] == "application/json; charset=utf-8"
        assert "authorization" not in request.headers
        assert signed_by(request, customer.appkey)
        assert all(item == report(int(item["msgid"]), account) for item in request.json())
    assert sorted(delivered_items(receiver, "reportid"), key=int) == [str(n) for n in range(250)]
    rows = await outbox_rows(db)
    assert {(r.state, r.attempts) for r in rows} == {(DONE, 1)}
    assert w.stats().delivered == 250 and w.stats().pending == 0


async def test_replies_are_one_object_per_post_with_basic_auth(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(
        db, customer, "acme", replyurl=receiver.url("/mo"), replyusername="bob", replypassword="s3cret:x"
    )
    for n in range(3):
        await db.write(enqueue_reply, account, reply(n, account), int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == 3)
    assert sorted(r.json()["replyid"] for r in receiver.requests) == ["0", "1", "2"]
    for request in receiver.requests:
        body = request.json()
        assert body == reply(int(body["replyid"]), account)
        assert request.headers["authorization"] == "Basic " + base64.b64encode(b"bob:s3cret:x").decode()
        assert signed_by(request, customer.appkey)


async def test_replies_without_a_user_name_carry_no_credentials(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", replyurl=receiver.url("/mo"), replypassword="unused")
    await db.write(enqueue_reply, account, reply(1, account), int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == 1)
    [request] = receiver.requests
    assert "authorization" not in request.headers


async def test_a_receiver_that_fails_then_recovers_gets_every_item_exactly_once(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    answers = iter([500, 503, 404, 302])

    async def flaky(_: Received) -> int:
        return next(answers, 200)

    receiver.answer = flaky
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(150)], int(time.time()))
    async with running(worker(db, schedule=AT_ONCE, report_limit=50)) as w:
        await eventually(lambda: w.delivered == 150)
    assert [r.status for r in receiver.requests[:4]] == [500, 503, 404, 302]
    assert sorted(delivered_items(receiver, "reportid"), key=int) == [str(n) for n in range(150)]
    rows = await outbox_rows(db)
    assert all(r.state == DONE for r in rows)
    assert w.failed == 4 * 50
    assert sum(r.attempts for r in rows) == 150 + 4 * 50


async def test_a_receiver_that_never_answers_is_retried(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    hang = asyncio.Event()
    first = True

    async def hangs_once(_: Received) -> int:
        nonlocal first
        if first:
            first = False
            await hang.wait()  # never set: the receiver keeps the request forever
        return 200

    receiver.answer = hangs_once
    await db.write(enqueue_report, account, report(1, account), int(time.time()))
    started = time.monotonic()
    async with running(worker(db, schedule=AT_ONCE, total_timeout=0.3)) as w:
        await eventually(lambda: w.delivered == 1)
    assert time.monotonic() - started >= 0.3
    assert len(receiver.requests) == 2 and w.failed == 1
    [row] = await outbox_rows(db)
    assert (row.state, row.attempts) == (DONE, 2)


async def test_failures_wait_for_the_next_delay_and_record_why(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))

    receiver.answer = refuses_report_1
    clock = Clock()
    await db.write(enqueue_report, account, report(1, account), clock.now)
    async with running(worker(db, clock=clock, schedule=RetrySchedule(delays=(10, 30)))) as w:
        await eventually(lambda: w.failed == 1)
        [row] = await outbox_rows(db)
        assert (row.state, row.next_attempt_at, row.last_error) == (PENDING, clock.now + 10, "HTTP 500")
        # Report 2 is claimed after the failure, on the same URL: had report 1 been due again, it would
        # have gone before it or in its batch (which the receiver refuses).
        await db.write(enqueue_report, account, report(2, account), clock.now)
        await eventually(lambda: w.delivered == 1, what="the report enqueued after the failure")
        assert delivered_items(receiver, "msgid") == ["2"]
        assert len(receiver.requests) == 2  # report 1 not due yet: not sent again
        clock.now += 10
        await eventually(lambda: w.failed == 2)
        row, _ = await outbox_rows(db)
        assert row.next_attempt_at == clock.now + 30


async def test_dead_once_the_schedule_is_exhausted(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))

    receiver.answer = refuses_report_1
    clock = Clock()
    created = clock.now
    await db.write(enqueue_report, account, report(1, account), created)
    schedule = RetrySchedule(delays=(5,), give_up_after=12)
    async with running(worker(db, clock=clock, schedule=schedule)) as w:
        for n, at in enumerate((created + 5, created + 10), start=1):
            await eventually(lambda n=n: w.failed == n)  # type: ignore[misc]
            clock.now = at
        await eventually(lambda: w.failed == 3)
        assert w.dead == 0
        clock.now = created + 15  # the failure at +15 is 12 s or more after creation: give up
        await eventually(lambda: w.dead == 1)
        # Claimed after report 1 was given up, on the same URL: a dead report 1 would go with it.
        await db.write(enqueue_report, account, report(2, account), clock.now)
        await eventually(lambda: w.delivered == 1, what="the report enqueued after the death")
    row, _ = await outbox_rows(db)
    assert (row.state, row.done_at, row.attempts, row.last_error) == (DEAD, created + 15, 4, "HTTP 500")
    assert delivered_items(receiver, "msgid") == ["2"]
    assert len(receiver.requests) == 4 + 1


async def test_leases_of_a_dead_worker_come_back(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    clock = Clock()
    await db.write(enqueue_report, account, report(1, account), clock.now)
    [claimed] = await db.write(claim_due, clock.now, 10, 60)  # a worker that then died
    async with running(worker(db, clock=clock)) as w:
        # Claimed while report 1's lease still runs, on the same URL: a report 1 taken before its lease
        # ran out would go before it or in its batch.
        await db.write(enqueue_report, account, report(2, account), clock.now)
        await eventually(lambda: w.delivered >= 1, what="the report enqueued after the lease")
        assert delivered_items(receiver, "msgid") == ["2"]
        clock.now += 60
        await eventually(lambda: w.delivered == 2)
    row, _ = await outbox_rows(db)
    assert (row.id, row.state, row.attempts) == (claimed.id, DONE, 2)
    assert delivered_items(receiver, "msgid") == ["2", "1"]


def items_by_account(requests: list[Received]) -> Counter[str]:
    """How many report items each sub-account (`accountid`) sent in `requests`."""
    return Counter(item["accountid"] for request in requests for item in request.json())


async def test_up_to_the_cap_of_requests_at_once_per_sub_account_even_on_one_url(
    db_on_each: Database, receiver: Receiver, customer_on_each: Customer
) -> None:
    db, customer = db_on_each, customer_on_each
    cap, per_account = 3, 200
    busy: Counter[str] = Counter()  # requests under way at the receiver, by sub-account
    most: Counter[str] = Counter()

    async def held_until_the_cap_is_reached(request: Received) -> int:
        # Each answer waits until the sub-account has `cap` requests under way (or all its reports have
        # arrived): a worker that posted fewer at once would never get its answers. Then a moment more,
        # for a request beyond the cap to show up.
        account = request.json()[0]["accountid"]
        busy[account] += 1
        most[account] = max(most[account], busy[account])
        try:
            await wait_for(
                lambda: busy[account] >= cap or items_by_account(receiver.requests)[account] == per_account,
                within=5.0,
                what=f"{cap} requests of sub-account {account} at once",
            )
            await asyncio.sleep(0.02)
        finally:
            busy[account] -= 1
        return 200

    receiver.answer = held_until_the_cap_is_reached
    url = receiver.url("/shared")
    accounts = [await add_account(db, customer, f"acme{n}", statusurl=url) for n in range(2)]
    items = [(a, report(n, a)) for n in range(per_account) for a in accounts]
    await db.write(enqueue_reports, items, int(time.time()))
    async with running(worker(db, report_limit=10, account_concurrency=cap)) as w:
        await eventually(lambda: w.delivered == 2 * per_account)
    assert most == {str(a): cap for a in accounts}  # each its own cap on the shared URL: reached, never more
    assert items_by_account(receiver.acknowledged()) == {str(a): per_account for a in accounts}


async def test_a_hung_receiver_delays_only_itself(
    db_on_each: Database, receiver: Receiver, customer_on_each: Customer
) -> None:
    db, customer = db_on_each, customer_on_each
    release = asyncio.Event()

    async def answer(request: Received) -> int:
        if request.path == "/hung":
            await release.wait()
        return 200

    receiver.answer = answer
    hung = await add_account(db, customer, "acme1", statusurl=receiver.url("/hung"))
    fine = await add_account(db, customer, "acme2", statusurl=receiver.url("/fine"))
    now = int(time.time())
    await db.write(enqueue_reports, [(hung, report(n, hung)) for n in range(1000)], now)  # first in line
    await db.write(enqueue_reports, [(fine, report(n, fine)) for n in range(500)], now)
    options = {"report_limit": 10, "lane_batches": 3, "max_in_flight": 100, "claim_size": 50}
    async with running(worker(db, account_concurrency=2, **options)) as w:
        await eventually(lambda: w.delivered == 500)
        # All of the fine receiver's reports arrived while the hung one holds its two posts unanswered.
        assert [r.status for r in receiver.requests if r.path == "/hung"] == [0, 0]
        assert w.pending <= (2 + 3) * 10  # the batches under way and a full lane behind them
        release.set()
        await eventually(lambda: w.delivered == 1500)
    assert sorted(delivered_items(receiver, "reportid"), key=int) == sorted(
        [str(n) for n in range(1000)] + [str(n) for n in range(500)], key=int
    )


async def test_a_failing_receiver_and_its_retries_hold_back_no_one_else(
    db_on_each: Database, receiver: Receiver, customer_on_each: Customer
) -> None:
    db, customer = db_on_each, customer_on_each

    async def answer(request: Received) -> int:
        if request.path == "/failing":
            await asyncio.sleep(0.01)  # long enough for its posts to overlap
            return 500
        return 200

    receiver.answer = answer
    failing = await add_account(db, customer, "acme1", statusurl=receiver.url("/failing"))
    fine = await add_account(db, customer, "acme2", statusurl=receiver.url("/fine"))
    clock = Clock()
    await db.write(enqueue_reports, [(failing, report(n, failing)) for n in range(2000)], clock.now)  # first
    await db.write(enqueue_reports, [(fine, report(n, fine)) for n in range(500)], clock.now)
    async with running(worker(db, clock=clock, schedule=RetrySchedule(delays=(10,)))) as w:
        await eventually(lambda: w.delivered == 500 and w.failed == 2000)
        # The retries fall due, ahead of the reports enqueued now: those still arrive.
        clock.now += 10
        await db.write(enqueue_reports, [(fine, report(n, fine)) for n in range(500, 1000)], clock.now)
        await eventually(lambda: w.delivered == 1000 and w.failed == 4000)
    assert w.dead == 0
    assert sorted(delivered_items(receiver, "reportid"), key=int) == [str(n) for n in range(1000)]
    assert receiver.most_busy["/failing"] == 4  # the default cap, reached, never more


async def test_reports_travel_over_kept_alive_connections(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    async def takes_a_moment(_: Received) -> int:
        await asyncio.sleep(0.005)
        return 200

    receiver.answer = takes_a_moment
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(3000)], int(time.time()))
    async with running(worker(db, report_limit=50)) as w:
        await eventually(lambda: w.delivered == 3000)
    assert len(receiver.requests) >= 60
    assert receiver.most_busy["/status"] == 4  # the default cap, reached
    assert receiver.connections <= 4  # one connection for each post under way, kept between posts


async def test_batches_queued_behind_an_unanswered_post_fail_unsent(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    async def never(_: Received) -> int:
        await asyncio.Event().wait()
        return 200

    receiver.answer = never
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    clock = Clock()
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(100)], clock.now)
    options = {"report_limit": 10, "lane_batches": 3, "total_timeout": 0.3, "clock": clock}
    async with running(worker(db, account_concurrency=2, **options)) as w:
        await eventually(lambda: w.failed >= 50)
        rows = [r for r in await outbox_rows(db) if r.last_error]
    reached = set(delivered_items_sent(receiver, "msgid"))
    assert {(r.state, r.attempts, r.next_attempt_at) for r in rows} == {(PENDING, 1, clock.now + 10)}
    errors = Counter((json.loads(r.payload)["msgid"] in reached, r.last_error) for r in rows)
    # Posted: no answer. Waiting behind them: failed without being sent.
    assert set(errors) == {(True, "no answer within 0.3 s"), (False, "not sent: no answer within 0.3 s")}


async def test_two_sub_accounts_on_one_url_are_batched_apart(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    url = receiver.url("/shared")
    first = await add_account(db, customer, "acme1", statusurl=url)
    second = await add_account(db, customer, "acme2", statusurl=url)
    items = [(a, report(n, a)) for n in range(5) for a in (first, second)]
    await db.write(enqueue_reports, items, int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == 10)
    for request in receiver.requests:
        assert len({item["accountid"] for item in request.json()}) == 1


async def test_private_addresses_are_refused_unless_allowed(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    clock = Clock()
    await db.write(enqueue_report, account, report(1, account), clock.now)
    async with running(worker(db, allow_private=False, clock=clock)) as w:
        await eventually(lambda: w.failed == 1)
    assert receiver.requests == []
    [row] = await outbox_rows(db)
    assert row.state == PENDING and row.next_attempt_at == clock.now + 10
    assert "127.0.0.1" in row.last_error and "loopback" in row.last_error


async def test_a_name_resolving_to_a_private_address_is_refused(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    port = receiver.url("/").split(":")[2].split("/")[0]
    account = await add_account(db, customer, "acme", statusurl=f"http://hooks.example.com:{port}/status")

    async def rebinding(host: str, _port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]  # one public answer does not make the other one safe

    clock = Clock()
    await db.write(enqueue_report, account, report(1, account), clock.now)
    async with running(worker(db, allow_private=False, clock=clock, resolver=rebinding)) as w:
        await eventually(lambda: w.failed == 1)
    [row] = await outbox_rows(db)
    assert "hooks.example.com resolves to 127.0.0.1 (loopback)" in row.last_error
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://example.com/status", "scheme 'ftp' refused"),
        ("file:///etc/passwd", "scheme 'file' refused"),
        ("", "the sub-account has no statusurl"),
    ],
)
async def test_unusable_urls_fail_with_the_reason(
    db: Database, customer: Customer, url: str, error: str
) -> None:
    account = await add_account(db, customer, "acme", statusurl="https://example.com/placeholder")
    clock = Clock()
    await db.write(enqueue_report, account, report(1, account), clock.now)
    await db.write(update_account, customer.id, account, {"statusurl": url}, approve=True)
    async with running(worker(db, clock=clock)) as w:
        await eventually(lambda: w.failed == 1)
    [row] = await outbox_rows(db)
    assert row.state == PENDING and row.last_error.startswith(error)


async def test_stop_finishes_the_posts_under_way_hands_back_the_rest_and_loses_nothing(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))

    stop_called = asyncio.Event()

    async def answered_once_stop_is_called(_: Received) -> int:
        await wait_for(stop_called.is_set, within=5.0, what="the test to call stop()")
        return 200

    receiver.answer = answered_once_stop_is_called
    clock = Clock()
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(50)], clock.now)
    w = worker(db, clock=clock, report_limit=10, account_concurrency=3)
    task = asyncio.create_task(w.run())
    await eventually(lambda: len(receiver.requests) == 3)
    # stop() marks the worker as stopping before it first waits, so the receiver, which polls the
    # event, answers only after that: the posts are under way when stop() is called.
    stop_called.set()
    await w.stop()
    await task
    assert [r.status for r in receiver.requests] == [200] * 3
    rows = await outbox_rows(db)
    assert sum(r.state == DONE for r in rows) == 30
    unsent = [r for r in rows if r.state == PENDING]
    assert len(unsent) == 20
    assert all(r.attempts == 0 and r.next_attempt_at == clock.now and r.lease_until is None for r in unsent)
    # The next worker delivers what was handed back: every report arrives, none twice.
    async with running(worker(db, clock=clock, report_limit=10)) as again:
        await eventually(lambda: again.delivered == 20)
    assert sorted(delivered_items(receiver, "reportid"), key=int) == [str(n) for n in range(50)]


async def test_a_wake_up_delivers_before_the_next_poll(
    db: Database, receiver: Receiver, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    writes = StoreWrites(db, monkeypatch)
    wake = asyncio.Event()
    async with running(worker(db, poll_interval=30, wake=wake)) as w:
        # Once a claim has come back empty, the worker waits for the wake-up or the poll 30 s later.
        await eventually(
            lambda: any(not claim.result for claim in writes.committed(claim_due)),
            what="a claim that finds nothing",
        )
        await db.write(enqueue_report, account, report(1, account), int(time.time()))
        wake.set()
        await eventually(lambda: w.delivered == 1, within=2.0)


async def test_a_large_backlog_arrives_whole_in_full_batches(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    total = 9000
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(total)], int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == total, within=30.0)
    assert sorted(delivered_items(receiver, "reportid")) == sorted(str(n) for n in range(total))
    # Batching is what lets one receiver take thousands a second: no POST carries more than 100,
    # and a backlog is not sent in driblets.
    sizes = [len(request.json()) for request in receiver.acknowledged()]
    assert max(sizes) == 100 and len(sizes) <= total // 100 + 10


async def test_settled_rows_are_deleted_after_their_retention(
    db: Database, receiver: Receiver, customer: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    clock = Clock()
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(3)], clock.now)
    options = {"clock": clock, "keep_done_seconds": 100, "keep_dead_seconds": None, "purge_every": 0.0}
    writes = StoreWrites(db, monkeypatch)
    async with running(worker(db, **options)) as w:
        await eventually(lambda: w.delivered == 3)
        delivered = writes.mark()
        await eventually(
            lambda: any(purge.args[0] == DONE for purge in writes.committed(purge_settled, since=delivered)),
            what="a purge of delivered rows after the delivery",
        )
        assert len(await outbox_rows(db)) == 3  # kept for a while
        clock.now += 300 + 100 + 1  # past the lease of the claim, plus the retention

        async def purged() -> bool:
            return await outbox_rows(db) == []

        await eventually_async(purged)


async def test_a_failing_receiver_is_logged_by_host_rate_limited_and_its_recovery_once(
    db: Database, receiver: Receiver, customer: Customer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status?token=s3cret"))
    failing = True

    async def answer(_: Received) -> int:
        return 500 if failing else 200

    receiver.answer = answer
    clock = Clock()
    await db.write(enqueue_reports, [(account, report(n, account)) for n in range(3)], clock.now)

    def logged(level: int) -> list[str]:
        return [
            r.getMessage() for r in caplog.records if r.levelno == level and r.name.startswith("smsplatform")
        ]

    async with running(worker(db, clock=clock, schedule=AT_ONCE, report_limit=1)) as w:
        await eventually(lambda: w.failed >= 30)
        assert logged(logging.WARNING) == ["callback receiver 127.0.0.1 is failing: HTTP 500"]
        clock.now += 60
        await eventually(lambda: len(logged(logging.WARNING)) == 2)
        assert logged(logging.WARNING)[1].startswith("callback receiver 127.0.0.1 still failing: HTTP 500 (")
        failing = False
        await eventually(lambda: w.delivered == 3)
    [recovered] = logged(logging.INFO)
    assert recovered.startswith("callback receiver 127.0.0.1 answers again, after ")
    assert not any("s3cret" in r.getMessage() for r in caplog.records)
    await eventually_async(lambda: _failed_attempts_recorded(db, w.failed))


async def _failed_attempts_recorded(db: Database, count: int) -> bool:
    def fetch(conn: sa.Connection) -> list[Any]:
        return list(conn.execute(sa.select(callback_errors.c.error)).scalars())

    errors = await db.read(fetch)
    return len(errors) == count and set(errors) == {"HTTP 500"}


async def test_after_a_key_rotation_the_new_appkey_signs_and_the_old_one_too_through_its_grace(
    db: Database, receiver: Receiver, customer: Customer
) -> None:
    account = await add_account(db, customer, "acme", statusurl=receiver.url("/status"))
    rotated = await db.write(rotate_appkey, customer.id, grace_seconds=3600, at=int(time.time()))
    await db.write(enqueue_report, account, report(1, account), int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == 1)
    third = await db.write(rotate_appkey, customer.id, grace_seconds=0, at=int(time.time()))
    await db.write(enqueue_report, account, report(2, account), int(time.time()))
    async with running(worker(db)) as w:
        await eventually(lambda: w.delivered == 1)
    during, after = receiver.requests
    assert signed_by(during, rotated.appkey)
    old = hmac.new(customer.appkey.encode(), during.body, hashlib.sha256).hexdigest()
    assert during.headers["x-signature-previous"] == old
    # Rotated again without grace: the newest key alone signs.
    assert signed_by(after, third.appkey) and "x-signature-previous" not in after.headers


def test_a_worker_without_a_request_in_flight_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="at least one request in flight"):
        worker(db, account_concurrency=0)
