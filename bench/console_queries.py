"""The console's message searches on a big SQLite database: is every page fast on 10 million messages?

    .venv/bin/python bench/console_queries.py [--messages 10000000] [--samples 15]

Fills a database in a temporary directory (deleted at the end) with `--messages` messages over 30 days,
of 20 customers of very different sizes (3 sub-accounts each), 2 million numbers, four carriers and
every state (rare ones included), through the real schema and its indexes; then times each search
shape an operator uses, through the operations the console calls (`admin/messages.py`), on the read
connection the console uses. Each shape runs `--samples` times with different values (a different
number, customer, day, …) after one warm-up; the figures are the median and the slowest.

Baseline, measured in the same run: one pass over the message table (`count(*)` of a state, which no
index serves), what any search that scans would cost.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from smsplatform.admin import messages as ops
from smsplatform.admin.actors import cli_actor
from smsplatform.store.database import Database, create_engine, migrate, sqlite_url
from smsplatform.store.schema import messages

DAYS = 30
START = int(time.time()) // 86400 * 86400 - DAYS * 86400
CUSTOMERS = 20
ACCOUNTS_PER_CUSTOMER = 3
NUMBERS = 2_000_000
PER_SEND = 4  # messages per send
ACTOR = cli_actor("bench")
TARGET_MS = 100.0


def fill(path: Path, count: int) -> None:
    """Schema by migration; rows by INSERT … SELECT from a recursive counter with the message indexes
    dropped, then the indexes built once (sorting beats 10 million B-tree inserts by far)."""
    engine = create_engine(sqlite_url(path.parent))
    migrate(engine)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("PRAGMA cache_size=-1048576")
    indexes = list(messages.indexes)
    for index in indexes:
        db.execute(f"DROP INDEX {index.name}")
    db.execute("BEGIN")
    for c in range(1, CUSTOMERS + 1):
        db.execute(
            "INSERT INTO customers (id, name, appkey, totalnum, created_at) VALUES (?, ?, ?, ?, ?)",
            (c, f"客户{c:02d}", f"key{c}", 10**12, START),
        )
        for a in range(ACCOUNTS_PER_CUSTOMER):
            account = c * 10 + a
            db.execute(
                "INSERT INTO accounts (id, customer_id, company, signature, totalnum, extension, addtime)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account, c, f"公司{account}", f"【签名{account}】", 10**11, f"{account:04d}", START),
            )
    seconds = DAYS * 86400
    # Customer c carries a share proportional to 1/c (customer 1: 28%, customer 20: 1.4%): the
    # `customer` column picks by a hash of the id against cumulative shares.
    weights = [1 / c for c in range(1, CUSTOMERS + 1)]
    total = sum(weights)
    bounds, acc = [], 0.0
    for c, w in enumerate(weights, 1):
        acc += w / total
        bounds.append((int(acc * 1_000_000), c))
    customer_case = (
        "CASE "
        + " ".join(f"WHEN h % 1000000 < {b} THEN {c}" for b, c in bounds[:-1])
        + f" ELSE {CUSTOMERS} END"
    )
    db.execute(
        f"""
        INSERT INTO sends (id, customer_id, account_id, count, fee, created_at)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {-(-count // PER_SEND)}),
        h(i, h) AS (SELECT i, (i * 2654435761) % 4294967296 FROM n),
        c(i, h, customer) AS (SELECT i, h, {customer_case} FROM h)
        SELECT i, customer, customer * 10 + i % {ACCOUNTS_PER_CUSTOMER}, {PER_SEND}, {PER_SEND},
               {START} + ((i - 1) * {PER_SEND}) * {seconds} / {count}
        FROM c
        """
    )
    # Pseudo-random values are hashes of the id, not random(): SQLite evaluates a CTE's column again
    # at every use, and a value must be the same wherever it is read. States: mostly delivered;
    # undelivered 4%, failed 1.5%, expired 0.8%, rejected 0.05%; the last minutes still queued,
    # submitting or submitted.
    recent = max(1, count // 20_000)
    db.execute(
        f"""
        INSERT INTO messages (id, send_id, customer_id, account_id, mobile, content, kind, segments, carrier,
                              state, attempts, next_attempt_at, connector, stat, errcode, created_at,
                              submitted_at, done_at)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}),
        r(i, send, r1, r2) AS (
            SELECT i, (i - 1) / {PER_SEND} + 1, (i * 2246822519 + 374761393) % 4294967296 % 1000000,
                   (i * 3266489917 + 668265263) % 4294967296 % {NUMBERS}
            FROM n
        ),
        m(i, send, r1, mobile, carrier, state, created) AS (
            SELECT i, send, r1,
                   (CASE r2 % 20 WHEN 0 THEN '170' WHEN 1 THEN '153' WHEN 2 THEN '192'
                         WHEN 3 THEN '186' WHEN 4 THEN '155' WHEN 5 THEN '189' WHEN 6 THEN '181'
                         ELSE '13' || (5 + r2 % 5) END) || printf('%08d', r2),
                   CASE WHEN r2 % 20 IN (1, 5, 6) THEN 'telecom' WHEN r2 % 20 IN (3, 4) THEN 'unicom'
                        WHEN r2 % 20 = 2 THEN 'broadnet' ELSE 'mobile' END,
                   CASE WHEN i > {count - recent // 3} THEN 'queued'
                        WHEN i > {count - 2 * recent // 3} THEN 'submitting'
                        WHEN i > {count - recent} THEN 'submitted'
                        WHEN r1 < 500 THEN 'rejected'
                        WHEN r1 < 8500 THEN 'expired'
                        WHEN r1 < 23500 THEN 'failed'
                        WHEN r1 < 63500 THEN 'undelivered'
                        ELSE 'delivered' END,
                   {START} + (i - 1) * {seconds} / {count}
            FROM r
        )
        SELECT m.i, m.send, s.customer_id, s.account_id, m.mobile,
               '【签名' || s.account_id || '】您的验证码是' || (100000 + m.r1 % 900000)
                   || '，5分钟内有效，请勿泄露。',
               'verification', 1, m.carrier, m.state, 1, 0,
               CASE WHEN m.state = 'queued' THEN NULL
                    ELSE m.carrier || '-' || (1 + m.r1 % 2) END,
               CASE m.state WHEN 'delivered' THEN 'DELIVRD' WHEN 'undelivered' THEN 'UNDELIV'
                            WHEN 'expired' THEN 'EXPIRED' WHEN 'rejected' THEN 'REJECTD' ELSE '' END,
               CASE m.state WHEN 'undelivered' THEN 'MK:0011' WHEN 'failed' THEN '0x00000058' ELSE '' END,
               m.created,
               CASE WHEN m.state IN ('queued', 'submitting') THEN NULL ELSE m.created + 1 END,
               CASE WHEN m.state IN ('queued', 'submitting', 'submitted') THEN NULL
                    ELSE m.created + 4 + m.r1 % 20 END
        FROM m JOIN sends s ON s.id = m.send
        """
    )
    db.execute("COMMIT")
    db.close()
    engine = create_engine(sqlite_url(path.parent))
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    engine.dispose()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


def run_shape(
    name: str, samples: list[Callable[[], Any]], report: list[tuple[str, float, float, str]]
) -> None:
    samples[0]()  # warm-up: the figures are for a console in use, with its pages in the OS cache
    times = []
    note = ""
    for sample in samples:
        ms, result = timed(sample)
        times.append(ms)
        rows = getattr(result, "rows", None)
        if rows is not None:
            note = f"{len(rows)} rows"
        elif isinstance(result, int):
            note = f"{result:,}"
    report.append((name, statistics.median(times), max(times), note))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()

    # Killed or interrupted, it still deletes its database (gigabytes).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    workdir = Path(tempfile.mkdtemp(prefix="console-bench-"))
    try:
        path = workdir / "smsplatform.db"
        started = time.perf_counter()
        fill(path, args.messages)
        fill_seconds = time.perf_counter() - started
        size_gb = path.stat().st_size / 1e9
        print(f"filled {args.messages:,} messages in {fill_seconds:.0f} s ({size_gb:.1f} GB)")
        db = Database.open(sqlite_url(workdir), run_migrations=False)
        try:
            report = measure(db, args.messages, args.samples)
        finally:
            db.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    cpu = platform.processor() or platform.machine()
    print(f"\nmachine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    print(f"{'search':<52} {'median':>9} {'slowest':>9}")
    for name, median, slowest, note in report:
        flag = (
            ""
            if slowest < TARGET_MS or name.startswith("baseline") or name.startswith("export")
            else "  SLOW"
        )
        print(f"{name:<52} {median:>7.1f}ms {slowest:>7.1f}ms  {note}{flag}")


def measure(db: Database, count: int, samples: int) -> list[tuple[str, float, float, str]]:
    rng = random.Random(7)
    report: list[tuple[str, float, float, str]] = []
    seconds = DAYS * 86400
    with db.read_engine.connect() as conn:

        def at(i: int) -> int:
            return START + (i - 1) * seconds // count

        def read(fn: Callable[..., Any], **kw: Any) -> Callable[[], Any]:
            return lambda: fn(conn, ACTOR, **kw)

        def some_ids(n: int) -> list[int]:
            return [rng.randrange(1, count + 1) for _ in range(n)]

        mobiles = [
            conn.execute(sa.select(messages.c.mobile).where(messages.c.id == i)).scalar_one()
            for i in some_ids(samples)
        ]
        days = [START + rng.randrange(DAYS) * 86400 for _ in range(samples)]
        hours = [START + rng.randrange(DAYS * 24) * 3600 for _ in range(samples)]
        customers = [rng.choice((1, 2, 5, 10, 20)) for _ in range(samples)]

        def page_after(pages: int, **kw: Any) -> Callable[[], Any]:
            """The `pages`-th page of a search, reached by following the cursors (timed: the last)."""
            before = None
            for _ in range(pages - 1):
                before = ops.search(conn, ACTOR, **kw, before_id=before).next_before_id
            return read(ops.search, **kw, before_id=before)

        shapes: list[tuple[str, list[Callable[[], Any]]]] = [
            ("no filter, first page", [read(ops.search)] * samples),
            (
                "by msgid (a send of 4)",
                [read(ops.search, msgid=(i - 1) // PER_SEND + 1) for i in some_ids(samples)],
            ),
            ("by number", [read(ops.search, mobile=m) for m in mobiles]),
            (
                "by number + 30 days",
                [read(ops.search, mobile=m, since=START, until=at(count) + 1) for m in mobiles],
            ),
            (
                "by customer + day",
                [
                    read(ops.search, customer_id=c, since=d, until=d + 86400)
                    for c, d in zip(customers, days, strict=True)
                ],
            ),
            (
                "by customer + day, 20th page",
                [
                    page_after(20, customer_id=c, since=d, until=d + 86400)
                    for c, d in zip(customers, days, strict=True)
                ],
            ),
            (
                "by sub-account + day",
                [
                    read(ops.search, account_id=c * 10 + 1, since=d, until=d + 86400)
                    for c, d in zip(customers, days, strict=True)
                ],
            ),
            (
                "by state (failed, 1.5%) + hour",
                [read(ops.search, state="failed", since=h, until=h + 3600) for h in hours],
            ),
            ("by state (undelivered, 4%), 30 days", [read(ops.search, state="undelivered")] * samples),
            (
                "by customer + state (failed) + day",
                [
                    read(ops.search, customer_id=c, state="failed", since=d, until=d + 86400)
                    for c, d in zip(customers, days, strict=True)
                ],
            ),
            (
                "by carrier + connector + hour",
                [
                    read(ops.search, carrier="unicom", connector="unicom-2", since=h, until=h + 3600)
                    for h in hours
                ],
            ),
            ("by state (rejected, 0.05%), 30 days: sparse", [read(ops.search, state="rejected")] * samples),
            ("by state (queued)", [read(ops.search, state="queued")] * samples),
            (
                "no match at all (a connector never used), 30 days",
                [read(ops.search, connector="gone-1")] * samples,
            ),
            ("one message's page (show)", [read(ops.show, message_id=i) for i in some_ids(samples)]),
        ]
        for name, calls in shapes:
            run_shape(name, calls, report)

        def export(**kw: Any) -> Callable[[], int]:
            return lambda: sum(1 for _ in ops.export_csv(conn, ACTOR, **kw, max_rows=10_000)) - 1

        run_shape(
            "export 10,000 rows (customer 1 + day)",
            [export(customer_id=1, since=d, until=d + 86400) for d in days[: max(3, samples // 3)]],
            report,
        )
        run_shape(
            "export 10,000 rows (state undelivered)",
            [export(state="undelivered")] * max(3, samples // 3),
            report,
        )
        count_failed = sa.select(sa.func.count()).select_from(messages).where(messages.c.state == "failed")
        run_shape(
            "baseline: one pass over the table (count a state)",
            [lambda: int(conn.execute(count_failed).scalar_one())] * 2,
            report,
        )
    return report


if __name__ == "__main__":
    main()
