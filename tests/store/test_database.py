"""The database handle: group commits that fail one unit at a time, batched hot-path writes, reads."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import inspect
import multiprocessing
import os
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.store.database import Database, normalize_url, sqlite_url
from smsplatform.store.schema import blackwords
from smsplatform.store.statistics import analyze_unseen
from tests.api.fast_databases import BACKENDS, fresh_database_url
from tests.waiting import wait_for


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


class Refused(Exception):
    pass


def insert(word: str) -> Callable[[sa.Connection], str]:
    def unit(conn: sa.Connection) -> str:
        conn.execute(sa.insert(blackwords).values(word=word, created_at=0))
        return word

    return unit


def insert_then_fail(word: str) -> Callable[[sa.Connection], str]:
    def unit(conn: sa.Connection) -> str:
        conn.execute(sa.insert(blackwords).values(word=word, created_at=0))
        raise Refused(word)

    return unit


def stored(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(blackwords.c.word).order_by(blackwords.c.word)).scalars())


def count_commits(db: Database) -> list[int]:
    commits = [0]

    def on_commit(_: sa.Connection) -> None:
        commits[0] += 1

    sa.event.listen(db.engine, "commit", on_commit)
    return commits


async def queued_behind_a_busy_writer(db: Database, writes: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Runs `writes` while the writer is busy with another unit, so that they commit as one group;
    their results (or exceptions), then the busy unit's own."""
    started, release = threading.Event(), threading.Event()

    def busy(conn: sa.Connection) -> str:
        started.set()
        release.wait(10)
        conn.execute(sa.insert(blackwords).values(word="busy", created_at=0))
        return "busy"

    first = asyncio.ensure_future(db.write(busy))
    await asyncio.to_thread(started.wait, 10)
    pending = [asyncio.ensure_future(w) for w in writes]
    # A write queues its unit and then waits for the commit: once every one is waiting, all are queued.
    await wait_for(
        lambda: all(inspect.getcoroutinestate(w) == inspect.CORO_SUSPENDED for w in writes),
        within=5.0,
        what="every write queued",
    )
    release.set()
    results = await asyncio.gather(*pending, return_exceptions=True)
    assert await first == "busy"
    return list(results)


async def test_a_write_is_committed_when_it_returns(db: Database) -> None:
    assert await db.write(insert("a")) == "a"
    assert await db.read(stored) == ["a"]


async def test_a_failing_write_raises_and_leaves_nothing(db: Database) -> None:
    with pytest.raises(Refused):
        await db.write(insert_then_fail("x"))
    assert await db.read(stored) == []
    await db.write(insert("y"))
    assert await db.read(stored) == ["y"]


async def test_in_a_group_only_the_failing_unit_is_rolled_back(db: Database) -> None:
    commits = count_commits(db)
    units = [insert("a"), insert_then_fail("b"), insert("c"), insert_then_fail("d"), insert("e")]
    results = await queued_behind_a_busy_writer(db, [db.write(u) for u in units])
    assert results[0::2] == ["a", "c", "e"]
    assert [type(r) for r in results[1::2]] == [Refused, Refused]
    assert await db.read(stored) == ["a", "busy", "c", "e"]
    assert commits[0] == 2  # the busy unit, then the five queued behind it together


async def test_an_integrity_error_in_a_group_fails_that_unit_only(db: Database) -> None:
    await db.write(insert("dup"))
    results = await queued_behind_a_busy_writer(db, [db.write(insert(w)) for w in ("a", "dup", "b")])
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], sa.exc.IntegrityError)
    assert await db.read(stored) == ["a", "b", "busy", "dup"]


def insert_words(conn: sa.Connection, words: list[str]) -> list[int]:
    """A batched unit: every item in one statement; fails whole when any word exists already."""
    conn.execute(sa.insert(blackwords), [{"word": w, "created_at": 0} for w in words])
    return [len(w) for w in words]


async def test_batched_writes_share_one_call(db: Database) -> None:
    calls: list[int] = []

    def counted(conn: sa.Connection, words: list[str]) -> list[int]:
        calls.append(len(words))
        return insert_words(conn, words)

    results = await queued_behind_a_busy_writer(
        db, [db.write_batched(counted, w) for w in ("a", "bb", "ccc")]
    )
    assert results == [1, 2, 3]
    assert calls == [3]
    assert await db.read(stored) == ["a", "bb", "busy", "ccc"]


async def test_a_bad_item_in_a_batch_fails_alone(db: Database) -> None:
    await db.write(insert("dup"))
    results = await queued_behind_a_busy_writer(
        db, [db.write_batched(insert_words, w) for w in ("a", "dup", "b")]
    )
    assert results[0] == 1 and results[2] == 1
    assert isinstance(results[1], sa.exc.IntegrityError)
    assert await db.read(stored) == ["a", "b", "busy", "dup"]


async def test_keyword_arguments_reach_the_unit(db: Database) -> None:
    def unit(conn: sa.Connection, word: str, *, suffix: str) -> str:
        return insert(word + suffix)(conn)

    assert await db.write(unit, "a", suffix="!") == "a!"
    assert await db.read(lambda conn, *, prefix: [prefix + w for w in stored(conn)], prefix="> ") == ["> a!"]


async def test_many_concurrent_writes_all_land(db: Database) -> None:
    words = [f"w{i:03d}" for i in range(200)]
    assert await asyncio.gather(*(db.write(insert(w)) for w in words)) == words
    assert await db.read(stored) == words


def test_urls() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
    assert sqlite_url(Path("data")) == "sqlite:///data/smsplatform.db"


async def test_sqlite_writers_take_turns_under_the_writer_file_lock(tmp_path: Path) -> None:
    """Another process holding the writer's turn (the flock beside the database) holds our writes back."""
    db = Database.open(sqlite_url(tmp_path))
    turn = os.open(tmp_path / "smsplatform.db-writer", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(turn, fcntl.LOCK_EX)
        pending = asyncio.ensure_future(db.write(insert("waited")))
        await wait_for(
            lambda: pending.done() or waits_for_flock(turn),
            within=5.0,
            what="the writer to ask for the turn",
        )
        assert not pending.done()
        assert await db.read(stored) == []
        fcntl.flock(turn, fcntl.LOCK_UN)
        assert await asyncio.wait_for(pending, 5) == "waited"
        assert await db.read(stored) == ["waited"]
    finally:
        os.close(turn)
        db.close()


def noting(word: str, order: list[str]) -> Callable[[sa.Connection], str]:
    """`insert(word)`, noting in `order` when it ran: in the writer's transaction, hence in the order
    of the transactions (separate groups here)."""

    def unit(conn: sa.Connection) -> str:
        order.append(word)
        return insert(word)(conn)

    return unit


async def test_urgent_writes_are_committed_ahead_of_ordinary_ones_queued_before_them(db: Database) -> None:
    order: list[str] = []
    writes = [
        db.write(noting("claim", order)),
        db.write(noting("results", order)),
        db.write_urgent(noting("report", order)),
    ]
    assert await queued_behind_a_busy_writer(db, writes) == ["claim", "results", "report"]
    assert order == ["report", "claim", "results"]


async def test_another_process_waiting_for_the_turn_gives_way_to_an_urgent_writer(tmp_path: Path) -> None:
    """Two handles on one SQLite file stand for two processes (each has its own flock). Both wait for
    the turn; once it is free, the urgent write goes first whichever of them the kernel wakes first."""
    url = sqlite_url(tmp_path)
    ordinary, urgent = Database.open(url), Database.open(url, run_migrations=False)
    turn = os.open(tmp_path / "smsplatform.db-writer", os.O_RDWR | os.O_CREAT)
    try:
        order: list[str] = []
        fcntl.flock(turn, fcntl.LOCK_EX)
        claim = asyncio.ensure_future(ordinary.write(noting("claim", order)))
        await wait_for(lambda: flock_waiters(turn) == 1, within=5.0, what="the ordinary writer waiting")
        report = asyncio.ensure_future(urgent.write_urgent(noting("report", order)))
        await wait_for(lambda: flock_waiters(turn) == 2, within=5.0, what="the urgent writer waiting")
        fcntl.flock(turn, fcntl.LOCK_UN)
        assert await asyncio.wait_for(asyncio.gather(claim, report), 10) == ["claim", "report"]
        assert order == ["report", "claim"]
        assert sorted(await ordinary.read(stored)) == ["claim", "report"]
    finally:
        os.close(turn)
        ordinary.close()
        urgent.close()


def flock_waiters(held: int) -> int:
    """How many are blocked on the flock held through `held` (see `waits_for_flock`)."""
    info = os.fstat(held)
    file = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    with open("/proc/locks") as locks:
        return sum(line.split()[1:3] == ["->", "FLOCK"] and file in line.split() for line in locks)


def waits_for_flock(held: int) -> bool:
    """Whether someone is blocked on the flock held through `held`, as the kernel lists it (/proc/locks
    shows a waiter as "->" before the lock it waits for, on the same device and inode)."""
    info = os.fstat(held)
    file = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    with open("/proc/locks") as locks:
        return any(line.split()[1:3] == ["->", "FLOCK"] and file in line.split() for line in locks)


def _write_words_in_another_process(url: str, words: list[str]) -> None:
    async def main() -> None:
        db = Database.open(url, run_migrations=False)
        try:
            await asyncio.gather(*(db.write(insert(w)) for w in words))
        finally:
            db.close()

    asyncio.run(main())


async def test_two_processes_write_one_sqlite_file_side_by_side(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    db = Database.open(url)
    theirs = [f"p{i:03d}" for i in range(300)]
    ours = [f"q{i:03d}" for i in range(300)]
    other = multiprocessing.get_context("spawn").Process(
        target=_write_words_in_another_process, args=(url, theirs)
    )
    other.start()
    try:
        assert await asyncio.gather(*(db.write(insert(w)) for w in ours)) == ours
    finally:
        await asyncio.to_thread(other.join, 60)
    assert other.exitcode == 0
    assert sorted(await db.read(stored)) == sorted(theirs + ours)
    db.close()


@pytest.mark.postgres
async def test_a_postgresql_table_that_filled_without_statistics_is_analysed(postgres_url: str) -> None:
    """Statistics come within seconds of a table's first thousand rows, not at autovacuum's next
    round: the planner's plans for the hot lookups depend on them."""
    db = Database.open(postgres_url, run_migrations=False)
    db.statistics_interval = 0.05
    outside = sa.create_engine(normalize_url(postgres_url))
    try:
        await db.write(insert_many([f"word{n}" for n in range(1500)]))

        def analysed() -> bool:
            with outside.connect() as conn:
                found = conn.exec_driver_sql(
                    "SELECT count(*) FROM pg_stats WHERE tablename = 'blackwords' AND attname = 'word'"
                )
                return bool(found.scalar())

        await wait_for(analysed, 60, "statistics of blackwords")
    finally:
        outside.dispose()
        db.close()


@pytest.mark.postgres
async def test_only_a_table_never_analysed_and_past_the_threshold_is_analysed(postgres_url: str) -> None:
    db = Database.open(postgres_url, run_migrations=False)
    db.statistics_interval = 3600  # the test looks itself
    try:
        with db.engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")

            def changes_seen(n: int) -> Callable[[], bool]:
                query = "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'blackwords'"
                return lambda: (auto.exec_driver_sql(query).scalar() or 0) >= n

            await db.write(insert_many([f"word{n}" for n in range(10)]))
            await wait_for(changes_seen(10), 60, "the server counting 10 rows written")
            assert "public.blackwords" not in analyze_unseen(auto, min_changes=1000)
            assert "public.blackwords" in analyze_unseen(auto, min_changes=5)
            await db.write(insert_many([f"more{n}" for n in range(20)]))
            await wait_for(changes_seen(20), 60, "the server counting 20 more rows written")
            assert "public.blackwords" not in analyze_unseen(auto, min_changes=5)  # autovacuum's now
    finally:
        db.close()


def insert_many(words: list[str]) -> Callable[[sa.Connection], None]:
    def unit(conn: sa.Connection) -> None:
        conn.execute(sa.insert(blackwords), [{"word": word, "created_at": 0} for word in words])

    return unit


@pytest.mark.postgres
async def test_the_postgresql_writer_replaces_a_connection_it_lost(postgres_url: str) -> None:
    """The writer keeps its connection between commits; one the server dropped fails the write that
    was on it at most, and the next write gets a new one."""
    db = Database.open(postgres_url, run_migrations=False)
    outside = sa.create_engine(normalize_url(postgres_url))
    try:
        await db.write(insert("before"))
        pid = await db.write(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        with outside.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_terminate_backend(%s)", (pid,)).scalar()
        with contextlib.suppress(sa.exc.DBAPIError):
            await db.write(insert("on the lost connection"))
        await db.write(insert("after"))
        assert {"before", "after"} <= set(await db.read(stored))
        assert await db.write(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()) != pid
    finally:
        outside.dispose()
        db.close()
