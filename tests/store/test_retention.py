"""Retention on a real database: what is older than `retention_days` leaves, what is younger stays,
in chunks that never hold the writer for long, and on SQLite with a WAL that stays small."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.store import partitions
from smsplatform.store.database import Database
from smsplatform.store.queries import message_statuses, replies
from smsplatform.store.retention import DAY, kept_since, purge, reach
from smsplatform.store.schema import (
    callback_errors,
    callbacks,
    inbound,
    message_parts,
    messages,
    sends,
    submit_errors,
    unmatched_receipts,
)
from tests.store.test_search import add_account, add_customer

NOW = int(time.time())
OLD = NOW - 100 * DAY  # past a 90-day retention
YOUNG = NOW - 10 * DAY


def seed(conn: sa.Connection) -> None:
    add_customer(conn, 1, "Acme")
    add_account(conn, 11, 1, "【阿克米】")


def add_history(conn: sa.Connection, at: int, count: int, *, first_id: int | None = None) -> list[int]:
    """`count` sends of one message each, stamped `at`, each message with a part, a submit error and a
    status report callback (with a failed attempt), plus a reply and an unmatched receipt per send.
    Message ids from `first_id` on when given (PostgreSQL: an id range of one's choosing), else the
    table's default. Returns the send ids."""
    send_ids = [
        int(i)
        for i in conn.execute(
            sa.insert(sends).returning(sends.c.id, sort_by_parameter_order=True),
            [dict(customer_id=1, account_id=11, count=1, fee=1, created_at=at) for _ in range(count)],
        ).scalars()
    ]
    rows = [
        dict(
            send_id=s,
            customer_id=1,
            account_id=11,
            mobile="13800138000",
            content="【阿克米】您的验证码是1234",
            kind="verification",
            segments=1,
            carrier="mobile",
            state="delivered",
            stat="DELIVRD",
            created_at=at,
            **({} if first_id is None else {"id": first_id + i}),
        )
        for i, s in enumerate(send_ids)
    ]
    if first_id is None:
        ids = [
            int(i)
            for i in conn.execute(
                sa.insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        ]
    else:
        conn.execute(sa.insert(messages), rows)
        ids = [first_id + i for i in range(count)]
    conn.execute(
        sa.insert(message_parts),
        [dict(message_id=m, part=1, connector="smsc-1", remote_id=f"r{m}") for m in ids],
    )
    conn.execute(
        sa.insert(submit_errors),
        [dict(message_id=m, attempt=1, outcome="retry", error="timeout", at=at) for m in ids],
    )
    callback_ids = conn.execute(
        sa.insert(callbacks).returning(callbacks.c.id),
        [
            dict(
                account_id=11,
                kind="report",
                payload="{}",
                state="done",
                next_attempt_at=at,
                created_at=at,
                message_id=m,
            )
            for m in ids
        ],
    ).scalars()
    conn.execute(
        sa.insert(callback_errors), [dict(callback_id=c, attempt=1, error="503", at=at) for c in callback_ids]
    )
    conn.execute(
        sa.insert(inbound),
        [
            dict(
                customer_id=1,
                account_id=11,
                mobile="13800138000",
                destination="1069",
                content="TD",
                connector="smsc-1",
                received_at=at,
            )
            for _ in send_ids
        ],
    )
    conn.execute(
        sa.insert(unmatched_receipts),
        [dict(connector="smsc-1", remote_id=f"u{s}", stat="DELIVRD", received_at=at) for s in send_ids],
    )
    return send_ids


def counts(db: Database) -> dict[str, int]:
    tables = (
        sends,
        messages,
        message_parts,
        submit_errors,
        callbacks,
        callback_errors,
        inbound,
        unmatched_receipts,
    )
    with db.engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()) for t in tables
        }


def truncate_wal(db: Database) -> None:
    """The seed's own WAL (tens of MiB) is not the purge's: it goes before the purge starts."""
    if db.dialect == "sqlite":
        with db.read_engine.connect() as conn:
            driver: Any = conn.connection.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def old_ids(conn: sa.Connection, at: int) -> int | None:
    """Where messages stamped `at` go. On PostgreSQL, the partition of their day, made here (the
    default id is today's); SQLite numbers them itself, in the order written."""
    if conn.dialect.name != "postgresql":
        return None
    partitions.create_ahead(conn, partitions.day_of(at), 0)
    return partitions.first_id_of_day(partitions.day_of(at))


def test_what_is_older_than_the_retention_leaves_and_the_rest_stays(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        old_sends = add_history(conn, OLD, 30, first_id=old_ids(conn, OLD))
        young_sends = add_history(conn, YOUNG, 20)

    done = asyncio.run(purge(db, 90, NOW, chunk=7))

    assert counts(db) == {
        "sends": 20,
        "messages": 20,
        "message_parts": 20,
        "submit_errors": 20,
        "callbacks": 20,
        "callback_errors": 20,
        "inbound": 20,
        "unmatched_receipts": 20,
    }
    assert done.messages == 30 and done.chunks >= 30 // 7
    with db.engine.connect() as conn:
        left = set(conn.execute(sa.select(sends.c.id)).scalars())
        assert left == set(young_sends) and not left & set(old_sends)
        # Every part left belongs to a message left: nothing dangles.
        orphans = conn.execute(
            sa.select(sa.func.count())
            .select_from(message_parts)
            .where(~sa.exists().where(messages.c.id == message_parts.c.message_id))
        ).scalar_one()
        assert orphans == 0


def test_a_retention_of_zero_keeps_everything(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_history(conn, NOW - 3000 * DAY, 5, first_id=old_ids(conn, NOW - 3000 * DAY))
    before = counts(db)
    asyncio.run(purge(db, 0, NOW))
    assert counts(db) == before


def test_a_round_again_finds_nothing_more(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_history(conn, OLD, 10, first_id=old_ids(conn, OLD))
        add_history(conn, YOUNG, 3)
    asyncio.run(purge(db, 90, NOW))
    after = counts(db)
    again = asyncio.run(purge(db, 90, NOW))
    assert counts(db) == after and again.messages == 0 and again.chunks == 0


def test_status_queries_do_not_reach_past_the_retention(db: Database) -> None:
    """Before a round removes them, messages and replies older than the retention already answer as
    unknown ones do: no row, a total of 0."""
    with db.engine.begin() as conn:
        seed(conn)
        (old_send,) = add_history(conn, OLD, 1, first_id=old_ids(conn, OLD))
        (young_send,) = add_history(conn, YOUNG, 1)
    since = kept_since(90, NOW)
    with db.engine.connect() as conn:
        assert message_statuses(conn, 1, send_id=old_send, kept_since=since) == (0, [])
        assert message_statuses(conn, 1, send_id=999_999, kept_since=since) == (0, [])
        total, rows = message_statuses(conn, 1, send_id=young_send, kept_since=since)
        assert total == 1 and rows[0].send_id == young_send
        total, found = replies(conn, 1, kept_since=since)
        assert total == 1 and found[0].received_at == YOUNG


def test_the_reach_names_its_first_day() -> None:
    at = 1_700_000_000  # 2023-11-14 22:13:20 UTC
    assert reach(90, at).since == at - 90 * DAY
    assert reach(90, at).since_date == "2023-08-16"
    assert reach(0, at).since is None and reach(0, at).since_date is None


# The longest an acceptance may wait for the writer while a purge runs: a chunk of 2,000 messages with
# their parts, errors and callbacks (measured 50–100 ms here, on 2 shared cores), with room for the
# machine's load: PostgreSQL's server shares the cores with the whole suite, and one wait of 650 ms was
# seen there under it. The whole purge below takes several times longer than the bound.
WRITER_BOUND = {"sqlite": 0.5, "postgresql": 1.0}


@pytest.mark.serial  # a bound on the writer's wait, which other tests running beside it would stretch
def test_a_large_purge_never_holds_the_writer_long(db: Database) -> None:
    total = 40_000 if db.dialect == "sqlite" else 24_000  # seeding PostgreSQL row by row is slower
    bound = WRITER_BOUND[db.dialect]
    with db.engine.begin() as conn:
        seed(conn)
        add_history(conn, OLD, total, first_id=old_ids(conn, OLD))
        add_history(conn, YOUNG, 10)
    truncate_wal(db)

    def accept(conn: sa.Connection, at: int) -> None:
        conn.execute(sa.insert(sends).values(customer_id=1, account_id=11, count=1, fee=1, created_at=at))

    async def scenario() -> tuple[float, list[float]]:
        started = time.monotonic()
        purging = asyncio.create_task(purge(db, 90, NOW))
        waits: list[float] = []
        while not purging.done():
            sent = time.monotonic()
            await db.write(accept, NOW)
            waits.append(time.monotonic() - sent)
            await asyncio.sleep(0)
        await purging
        return time.monotonic() - started, waits

    took, waits = asyncio.run(scenario())
    print(
        f"purge of {total} messages: {took:.2f} s; {len(waits)} acceptances,"
        f" longest wait {max(waits) * 1000:.0f} ms"
    )
    assert counts(db)["messages"] == 10
    assert max(waits) < bound, (max(waits), took)
    # The purge gave the writer up again and again: one acceptance at a time went through, so many of
    # them mean many turns (a purge in one transaction would let one or two through).
    assert len(waits) > 20, len(waits)
    # However fast the machine: no acceptance waited for a good part of the purge.
    assert max(waits) < took / 4, (max(waits), took)


def test_the_wal_stays_small_during_and_after_a_purge(tmp_path: Path) -> None:
    """30,000 messages with their rows purged: the WAL never grows past 8 MiB on the way (the same
    purge in one transaction writes every page it changes into it: tens of MiB), and ends truncated."""
    db = Database.open(f"sqlite:///{tmp_path / 'wal.db'}")
    wal = tmp_path / "wal.db-wal"
    try:
        with db.engine.begin() as conn:
            seed(conn)
            add_history(conn, OLD, 30_000)
        truncate_wal(db)
        assert wal.stat().st_size == 0

        peak = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, wal.stat().st_size)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            asyncio.run(purge(db, 90, NOW))
        finally:
            stop.set()
            watcher.join()
        assert counts(db)["messages"] == 0
        print(f"WAL peak during the purge: {peak / 1024 / 1024:.1f} MiB")
        assert 0 < peak < 8 * 1024 * 1024, peak
        assert wal.stat().st_size < 1024 * 1024, wal.stat().st_size
    finally:
        db.close()


def test_a_message_younger_than_the_retention_by_a_second_stays(db: Database) -> None:
    """On SQLite the older one leaves at once. On PostgreSQL both share a day's partition, which goes
    once the whole day is past; until then the queries already answer for the older one as unknown."""
    cutoff = NOW - 90 * DAY
    with db.engine.begin() as conn:
        seed(conn)
        (gone,) = add_history(conn, cutoff - 1, 1, first_id=old_ids(conn, cutoff))
        first_id = (
            None if db.dialect == "sqlite" else partitions.first_id_of_day(partitions.day_of(cutoff)) + 1
        )
        (kept,) = add_history(conn, cutoff, 1, first_id=first_id)
    asyncio.run(purge(db, 90, NOW))
    with db.engine.connect() as conn:
        left = list(conn.execute(sa.select(sends.c.id).order_by(sends.c.id)).scalars())
        assert left == ([kept] if db.dialect == "sqlite" else [gone, kept])
        assert message_statuses(conn, 1, send_id=gone, kept_since=cutoff) == (0, [])
        assert message_statuses(conn, 1, send_id=kept, kept_since=cutoff)[0] == 1
