"""The callbacks worker alone: how many status reports a second it delivers from a filled outbox.

    .venv/bin/python bench/callback_worker.py [--reports 100000] [--delays 0,0.02] [--concurrency 1,4]

No API, no dispatch: the outbox (SQLite, in a temporary directory) is filled with `--reports` status
reports of one sub-account before the clock starts, then one `CallbackWorker` in this process delivers
them to a receiver in a process of its own (so that its work is not counted against the worker's core)
that answers every POST 200 after `--delay` seconds. For each receiver delay, each setting of the
requests in flight per sub-account (1 is how the worker posted before: one request at a time per
receiver) is measured in the same run, on a copy of the same filled database. Prints reports/s from the
worker's start to the last report acknowledged, the requests the receiver saw at most at once, the CPU
the worker's process used (all its threads: the event loop and the database's writer), in seconds and
per report, and the share of a core the receiver used. On a machine that others share, the rates move
with their load; the CPU per report much less.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is a package of the repository

from bench.delivery import cpu_seconds  # noqa: E402
from smsplatform.callbacks.worker import CallbackWorker  # noqa: E402
from smsplatform.store.accounts import create_account  # noqa: E402
from smsplatform.store.callbacks import enqueue_reports  # noqa: E402
from smsplatform.store.customers import create_customer  # noqa: E402
from smsplatform.store.database import Database  # noqa: E402
from smsplatform.store.secrets import SecretBox, new_key  # noqa: E402

KEY = new_key()  # one key for the filled database and its copies

# The receiver, run as `python -c`: HTTP/1.1 with keep-alive, each answer after DELAY seconds; it prints
# its port, and when its standard input closes, the most requests it had under way at once.
RECEIVER = r"""
import asyncio, sys
DELAY = float(sys.argv[1])
busy = most = 0

async def handle(reader, writer):
    global busy, most
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            busy += 1
            most = max(most, busy)
            if DELAY:
                await asyncio.sleep(DELAY)
            busy -= 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    print(most, flush=True)

asyncio.run(main())
"""


def report(n: int, account_id: int) -> dict[str, str]:
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


async def fill(path: Path, reports: int) -> None:
    """A migrated outbox holding `reports` due status reports of one sub-account whose receiver is
    named `http://receiver.invalid:PORT/status` (the port is set per run)."""
    db = Database.open(f"sqlite:///{path}", secrets=SecretBox(KEY))
    try:
        customer = await db.write(create_customer, "bench", 10**9)
        fields = {"company": "Bench", "signature": "bench", "totalnum": 1000, "statusurl": "http://x/s"}
        account = await db.write(create_account, customer.id, fields, approve=True)
        now = int(time.time()) - 10
        for start in range(0, reports, 10_000):
            rows = [(account.id, report(n, account.id)) for n in range(start, min(reports, start + 10_000))]
            await db.write(enqueue_reports, rows, now)
    finally:
        db.close()


def set_statusurl(path: Path, url: str) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE accounts SET statusurl = ?", (url,))


async def deliver(path: Path, reports: int, concurrency: int) -> tuple[float, float]:
    """Seconds until every report was acknowledged, and the CPU seconds this process used meanwhile."""
    db = Database.open(f"sqlite:///{path}", run_migrations=False, secrets=SecretBox(KEY))
    worker = CallbackWorker(db, allow_private=True, poll_interval=0.05, account_concurrency=concurrency)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    try:
        while worker.delivered < reports:
            if task.done():
                task.result()
                raise SystemExit("the worker stopped early")
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - started
    finally:
        await worker.stop()
        await task
        db.close()
    used = resource.getrusage(resource.RUSAGE_SELF)
    return elapsed, used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime


def run_once(template: Path, workdir: Path, reports: int, delay: float, concurrency: int) -> str:
    receiver = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(delay)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert receiver.stdin is not None and receiver.stdout is not None
    try:
        port = int(receiver.stdout.readline())
        path = workdir / "run.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, path)
        set_statusurl(path, f"http://127.0.0.1:{port}/status")
        receiver_cpu = cpu_seconds(receiver.pid)
        elapsed, cpu = uvloop.run(deliver(path, reports, concurrency))  # the loop `serve` runs
        receiver_cpu = cpu_seconds(receiver.pid) - receiver_cpu
        receiver.stdin.close()
        most = int(receiver.stdout.readline() or 0)
    finally:
        receiver.wait(timeout=10)
    return (
        f"receiver {delay * 1000:3.0f} ms, {concurrency} in flight: {reports / elapsed:8,.0f} reports/s"
        f"  ({elapsed:5.2f} s; at most {most} requests at once; CPU: worker {cpu:5.2f} s,"
        f" {cpu / elapsed:.0%}, {cpu / reports * 1e6:.0f} µs a report; receiver {receiver_cpu / elapsed:.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--delays", default="0,0.02", help="seconds the receiver takes, comma-separated")
    parser.add_argument("--concurrency", default="1,4", help="requests in flight per sub-account")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    levels = [int(c) for c in args.concurrency.split(",")]
    print(f"{args.reports:,} reports of one sub-account; {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        template = workdir / "filled.db"
        asyncio.run(fill(template, args.reports))
        for delay in delays:
            for concurrency in levels:
                print(run_once(template, workdir, args.reports, delay, concurrency), flush=True)


if __name__ == "__main__":
    main()
