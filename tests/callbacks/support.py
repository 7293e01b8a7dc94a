"""Helpers of the callbacks tests: items as dispatch builds them, the outbox's rows, a clock, a worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.callbacks.worker import CallbackWorker
from smsplatform.store.accounts import create_account
from smsplatform.store.database import Database
from smsplatform.store.schema import callbacks
from tests.waiting import wait_for


@dataclass
class Customer:
    id: int
    appkey: str


async def add_account(db: Database, customer: Customer, signature: str, **urls: str) -> int:
    fields = {"company": "Acme", "signature": signature, "totalnum": 1000, **urls}
    account = await db.write(create_account, customer.id, fields, approve=True)
    return account.id


def report(n: int, account_id: int = 1) -> dict[str, str]:
    return {
        "msgid": str(n),
        "mobile": "13800138000",
        "accountid": str(account_id),
        "status": "DELIVRD",
        "success": "1",
        "errcode": "",
        "submittime": "1700000000",
        "donetime": "1700000005",
        "segments": "1",
        "reportid": str(n),
    }


def reply(n: int, account_id: int = 1) -> dict[str, str]:
    return {
        "replyid": str(n),
        "accountid": str(account_id),
        "mobile": "13800138000",
        "content": f"回复 {n}",
        "receivetime": "1700000000",
    }


async def outbox_rows(db: Database) -> list[sa.Row[Any]]:
    def fetch(conn: sa.Connection) -> list[sa.Row[Any]]:
        return list(conn.execute(sa.select(callbacks).order_by(callbacks.c.id)))

    return await db.read(fetch)


async def eventually(
    check: Callable[[], bool], within: float = 5.0, what: str = "the expected state"
) -> None:
    """Wait until `check()` holds; fail the test, naming `what`, when it does not `within` seconds."""
    await wait_for(check, within, what, every=0.005)


async def eventually_async(
    check: Callable[[], Awaitable[bool]], within: float = 5.0, what: str = "the expected state of the store"
) -> None:
    """`eventually` for a check that has to await (the store, say)."""
    await wait_for(check, within, what)


@dataclass
class Unit:
    """One unit of work handed to the store: what ran, with what, and what it returned once committed."""

    work: Callable[..., Any]
    args: tuple[Any, ...]
    committed: bool = False
    result: Any = None


class StoreWrites:
    """Every unit of work written through `db`, in the order the store's one writer takes them.

    A test waits for the worker's next claim or purge here instead of sleeping: a unit handed over after
    some moment runs after everything committed before it, so what it returns shows the store as the
    worker saw it from then on.
    """

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.units: list[Unit] = []
        for name in ("write", "write_urgent"):  # the worker's claims and outcomes go as urgent writes
            monkeypatch.setattr(db, name, self._recording(getattr(db, name)))

    def _recording(self, write: Callable[..., Any]) -> Callable[..., Any]:
        async def recorded(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            unit = Unit(work, args)
            self.units.append(unit)
            unit.result = await write(work, *args, **kwargs)
            unit.committed = True
            return unit.result

        return recorded

    def mark(self) -> int:
        """A moment to look from: `committed(..., since=mark)` sees only units handed over after it."""
        return len(self.units)

    def committed(self, work: Callable[..., Any], since: int = 0) -> list[Unit]:
        return [unit for unit in self.units[since:] if unit.work is work and unit.committed]


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: int = 1_700_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


@contextlib.asynccontextmanager
async def running(worker: CallbackWorker) -> AsyncIterator[CallbackWorker]:
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await worker.stop()
        await task
