from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from smsplatform.dispatch.batcher import WriteBatcher
from smsplatform.store.database import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(f"sqlite:///{tmp_path / 't.db'}", run_migrations=False)
    yield database
    database.close()


class Recorder:
    """Stores batches; fails the first `fail_times` writes, and every write holding a `poison` item."""

    def __init__(self, fail_times: int = 0, poison: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_times = fail_times
        self.poison = poison

    def __call__(self, conn: sa.Connection, items: Sequence[int]) -> None:
        conn.exec_driver_sql("SELECT 1")
        if self.fail_times or self.poison in items:
            self.fail_times = max(0, self.fail_times - 1)
            raise ValueError("disk on fire")
        self.batches.append(list(items))


async def test_concurrent_items_share_one_write(db: Database) -> None:
    recorder = Recorder()
    batcher: WriteBatcher[int] = WriteBatcher(db, recorder, name="t")
    batcher.start()
    futures = [batcher.submit(n) for n in range(100)]
    await asyncio.gather(*futures)
    assert recorder.batches == [list(range(100))]
    assert batcher.written == 100
    await batcher.close()


async def test_max_batch_splits_the_writes(db: Database) -> None:
    recorder = Recorder()
    batcher: WriteBatcher[int] = WriteBatcher(db, recorder, name="t", max_batch=40)
    batcher.start()
    await asyncio.gather(*(batcher.submit(n) for n in range(100)))
    assert [len(b) for b in recorder.batches] == [40, 40, 20]
    await batcher.close()


async def test_a_failed_write_fails_its_items(db: Database) -> None:
    batcher: WriteBatcher[int] = WriteBatcher(db, Recorder(fail_times=1), name="t")
    batcher.start()
    with pytest.raises(ValueError, match="disk on fire"):
        await batcher.submit(1)
    await batcher.submit(2)  # the next batch is written
    assert batcher.failures == 1
    await batcher.close()


async def test_one_bad_item_fails_alone(db: Database) -> None:
    recorder = Recorder(poison=3)
    batcher: WriteBatcher[int] = WriteBatcher(db, recorder, name="t")
    batcher.start()
    results = await asyncio.gather(*(batcher.submit(n) for n in range(5)), return_exceptions=True)
    assert [isinstance(r, ValueError) for r in results] == [False, False, False, True, False]
    assert recorder.batches == [[0], [1], [2], [4]]
    await batcher.close()


async def test_retry_failed_keeps_the_items_until_written(db: Database) -> None:
    recorder = Recorder(fail_times=3)
    batcher: WriteBatcher[int] = WriteBatcher(db, recorder, name="t", retry_failed=True, retry_delay=0.01)
    batcher.start()
    await asyncio.wait_for(asyncio.gather(batcher.submit(7), batcher.submit(8)), 2.0)
    assert sorted(n for batch in recorder.batches for n in batch) == [7, 8]
    assert batcher.failures == 3
    await batcher.close()


async def test_close_writes_what_was_queued(db: Database) -> None:
    recorder = Recorder()
    batcher: WriteBatcher[int] = WriteBatcher(db, recorder, name="t")
    batcher.start()
    futures = [batcher.submit(n) for n in range(3)]
    await batcher.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert recorder.batches == [[0, 1, 2]]
    with pytest.raises(RuntimeError):
        await batcher.submit(4)


async def test_linger_gathers_items_that_trickle_in(db: Database) -> None:
    recorder = Recorder()
    batcher: WriteBatcher[int] = WriteBatcher(db, recorder, name="t", linger=0.3)
    batcher.start()
    first = batcher.submit(1)
    # Queued to the store after the batcher was woken by item 1: once it is committed, a batcher that
    # did not linger would have handed item 1 to the store alone.
    await db.write(lambda conn: None)
    assert batcher.pending == 1
    second = batcher.submit(2)
    await asyncio.gather(first, second)
    assert recorder.batches == [[1, 2]]
    await batcher.close()
