"""The retention task a dispatch node runs: a round at start, then one every few minutes, a failing
round logged and tried again, nothing removed when the retention is 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from smsplatform.dispatch.retention import keep_within_retention
from smsplatform.store.database import Database
from smsplatform.store.retention import RETENTION_KEY, purge
from smsplatform.store.schema import messages, settings
from tests.store.test_retention import NOW, OLD, YOUNG, add_history, old_ids, seed
from tests.waiting import wait_for


def count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(messages)).scalar_one())


def recorded_retention(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(settings.c.value).where(settings.c.key == RETENTION_KEY)).scalar()


@contextlib.asynccontextmanager
async def running(
    db: Database, days: int, every: float, clock: list[int] | None = None
) -> AsyncIterator[None]:
    """The task, with a clock the test moves (`clock[0]`; NOW unless given)."""
    now = clock or [NOW]
    task = asyncio.create_task(keep_within_retention(db, days, every=every, clock=lambda: now[0]))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_round_runs_at_start_and_again_later(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_history(conn, OLD, 5, first_id=old_ids(conn, OLD))
        add_history(conn, YOUNG, 3)
    # A period far longer than the test: only the round at start can remove the rows.
    async with running(db, 90, every=3600):
        await wait_for(lambda: count(db) == 3, 10, "the old messages removed at start")
    clock = [NOW]
    async with running(db, 90, every=0.05, clock=clock):
        await wait_for(lambda: recorded_retention(db) == "90", 10, "the first round")
        assert count(db) == 3
        # 92 days on: the young ones are past the retention, and on PostgreSQL the day they were written
        # in (today: their partition) is wholly past too.
        clock[0] = NOW + 92 * 86_400
        await wait_for(lambda: count(db) == 0, 10, "a later round removing what aged since")


async def test_a_retention_of_zero_removes_nothing(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_history(conn, NOW - 400 * 86_400, 4, first_id=old_ids(conn, NOW - 400 * 86_400))
    async with running(db, 0, every=0.05):
        await wait_for(lambda: recorded_retention(db) == "0", 10, "a round to run")
    assert count(db) == 4


async def test_a_failing_round_is_logged_and_the_next_one_runs(
    db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_history(conn, OLD, 3, first_id=old_ids(conn, OLD))
    real = purge
    calls = 0

    async def flaky(db: Database, days: int, now: int) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("database is gone for a moment"))
        return await real(db, days, now)

    monkeypatch.setattr("smsplatform.dispatch.retention.purge", flaky)
    with caplog.at_level(logging.ERROR, logger="smsplatform.dispatch.retention"):
        async with running(db, 90, every=0.05):
            await wait_for(lambda: count(db) == 0, 10, "the round after the failing one")
    assert "the retention round failed" in caplog.text
