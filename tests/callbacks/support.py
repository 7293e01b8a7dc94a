"""Helpers of the callbacks tests: items as dispatch builds them, the outbox's rows, a clock, a worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.callbacks.worker import CallbackWorker
from smsplatform.store.accounts import create_account
from smsplatform.store.database import Database
from smsplatform.store.schema import callbacks


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


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Wait until `check()` holds; fail the test when it does not `within` seconds."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - polls plain state, there is no event to wait on
            await asyncio.sleep(0.005)


async def eventually_async(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """`eventually` for a check that has to await (the store, say)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polls the store, there is no event to wait on
            await asyncio.sleep(0.01)


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
