"""Many producers, one database write per batch: how results, receipts and replies reach the store.

Each item's future resolves once the write holding it has committed, so a connector acknowledges a
receipt to its SMSC only after the receipt is stored, and a message leaves the in-flight set only
after its result is. While one write runs, the next batch gathers, so the batch size follows the load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import sqlalchemy as sa

from smsplatform.store.database import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

WriteFn = Callable[[sa.Connection, Sequence[T]], object]


class WriteBatcher(Generic[T]):
    """Collects items and stores them with `write(conn, items)`, one transaction per batch.

    `linger` holds a batch back that long after its first item, for items whose producers do not
    wait on the write (a bigger batch costs the store less per item).

    `urgent` writes go ahead of ordinary ones (`Database.write_urgent`): for what a customer waits on.

    A failed batch is written again item by item, so that one item the store refuses fails alone.
    With `retry_failed`, items that still fail are tried again after `retry_delay`, their futures
    waiting: for results that must not be lost. Without it, their futures get the error: for
    receipts and replies, whose SMSC then delivers them again.
    """

    def __init__(
        self,
        db: Database,
        write: WriteFn[T],
        *,
        name: str,
        max_batch: int = 2000,
        retry_failed: bool = False,
        retry_delay: float = 1.0,
        linger: float = 0.0,
        urgent: bool = False,
    ) -> None:
        self._db = db
        self._store_fn = db.write_urgent if urgent else db.write
        self._write = write
        self.name = name
        self._max_batch = max_batch
        self._retry_failed = retry_failed
        self._retry_delay = retry_delay
        self._linger = linger
        self._items: list[T] = []
        self._futures: list[asyncio.Future[None]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.written = 0  # items committed
        self.failures = 0  # writes that raised

    def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"batcher:{self.name}")

    def submit(self, item: T) -> asyncio.Future[None]:
        """Queue `item`; the future resolves once it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closing and self._task is None:
            future.set_exception(RuntimeError(f"{self.name} writer is closed"))
            return future
        self._items.append(item)
        self._futures.append(future)
        self._ready.set()
        return future

    @property
    def pending(self) -> int:
        return len(self._items)

    async def close(self) -> None:
        """Write what was queued, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if not self._items:
                if self._closing:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            if self._linger and len(self._items) < self._max_batch and not self._closing:
                await asyncio.sleep(self._linger)  # let a bigger batch gather
            items = self._items[: self._max_batch]
            futures = self._futures[: self._max_batch]
            del self._items[: self._max_batch]
            del self._futures[: self._max_batch]
            await self._store(items, futures)

    async def _store(self, items: list[T], futures: list[asyncio.Future[None]]) -> None:
        error = await self._attempt(items, futures)
        if error is None:
            return
        # One bad item must not hold up the rest: each is tried alone.
        failed: list[tuple[T, asyncio.Future[None], Exception]] = []
        if len(items) > 1:
            for item, future in zip(items, futures, strict=True):
                single = await self._attempt([item], [future])
                if single is not None:
                    failed.append((item, future, single))
        else:
            failed.append((items[0], futures[0], error))
        if not failed:
            return
        log.warning("%s: %d items not stored: %s", self.name, len(failed), failed[0][2])
        if self._retry_failed and not self._closing:
            await asyncio.sleep(self._retry_delay)
            # Back to the head of the queue, futures still pending.
            self._items[:0] = [item for item, _, _ in failed]
            self._futures[:0] = [future for _, future, _ in failed]
            return
        for _, future, single in failed:
            if not future.done():
                future.set_exception(single)
                future.exception()  # a producer that stopped waiting must not log it as lost

    async def _attempt(self, items: list[T], futures: list[asyncio.Future[None]]) -> Exception | None:
        """One write of `items`; their futures resolve when it committed. The error, if it failed."""
        try:
            await self._store_fn(self._write, items)
        except Exception as error:
            self.failures += 1
            return error
        self.written += len(items)
        for future in futures:
            if not future.done():
                future.set_result(None)
        return None
