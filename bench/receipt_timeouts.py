"""The receipt timeout on a big table: what its sweep costs, and what its index costs the hot path.

    .venv/bin/python bench/receipt_timeouts.py [--messages 2000000] [--overdue 20000] [--flow 20000]
                                               [--database-url postgresql://…]

Fills a database (SQLite in a temporary directory by default, deleted at the end; or an empty
PostgreSQL database named by `--database-url`, whose tables are dropped at the end) with `--messages`
finished messages over 30 days and `--overdue` submitted ones whose report never came, spread over
three connectors, then measures, each against its baseline in the same run:

1. the sweep (`time_out_receipts`, 1,000 messages a batch) over the partial index of submitted
   messages, against the one query it would be without that index (a pass over the message table);
2. the hot path that keeps the index: `--flow` new messages claimed, recorded as submitted and settled
   by their receipts, in batches of 500 as the dispatcher writes them, with the index and without it
   (alternating runs, the median of each).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store.claims import claim
from smsplatform.store.database import Database, create_engine, migrate, sqlite_url
from smsplatform.store.expiry import time_out_receipts
from smsplatform.store.receipts import ReceiptIn, apply_receipts
from smsplatform.store.results import record_results
from smsplatform.store.schema import metadata

DAYS = 30
NOW = int(time.time())
START = NOW - DAYS * 86400
TIMEOUT = 72 * 3600
CONNECTORS = ("cmpp-gw", "sgip-gw", "smpp-gw")
BATCH = 500
INDEX = "ix_messages_submitted"
INDEX_SQL = f"CREATE INDEX {INDEX} ON messages (connector, submitted_at) WHERE state = 'submitted'"


def fill(engine: sa.Engine, count: int, overdue: int) -> None:
    """One customer, sub-account and send; `count` finished messages, then `overdue` submitted ones
    older than the timeout, all by one INSERT … SELECT from a counter."""
    postgres = engine.dialect.name == "postgresql"
    counter = "generate_series(1, {n}) AS n(i)" if postgres else "n"
    recursive = (
        "" if postgres else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) "
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customers (id, name, appkey, totalnum, created_at)"
            f" VALUES (1, 'bench', 'key', 1000000000000, {START})"
        )
        conn.exec_driver_sql(
            "INSERT INTO accounts (id, customer_id, company, signature, totalnum, extension, addtime)"
            f" VALUES (1, 1, 'bench', '【压测】', 1000000000000, '0001', {START})"
        )
        conn.exec_driver_sql(
            "INSERT INTO sends (id, customer_id, account_id, count, fee, created_at)"
            f" VALUES (1, 1, 1, 1, 1, {START})"
        )
        columns = (
            "send_id, customer_id, account_id, mobile, content, kind, segments, carrier, state, attempts,"
            " next_attempt_at, connector, stat, errcode, created_at, submitted_at, done_at"
        )
        seconds = DAYS * 86400 - TIMEOUT - 3600
        for n, state, stat, spread in (
            (count, "delivered", "DELIVRD", seconds),
            (overdue, "submitted", "", 3600),
        ):
            if not n:
                continue
            sql = (
                recursive.format(n=n) + f"INSERT INTO messages ({columns}) "
                "SELECT 1, 1, 1, '138' || (10000000 + i), '【压测】您的验证码是1234', 'verification', 1,"
                f" 'mobile', '{state}', 1, 0, CASE i - i / 3 * 3 WHEN 0 THEN '{CONNECTORS[0]}'"
                f" WHEN 1 THEN '{CONNECTORS[1]}' ELSE '{CONNECTORS[2]}' END, '{stat}', '',"
                f" {START} + CAST(i AS BIGINT) * {spread} / {n},"
                f" {START} + CAST(i AS BIGINT) * {spread} / {n} + 1, "
                + ("NULL" if state == "submitted" else f"{START} + CAST(i AS BIGINT) * {spread} / {n} + 5")
                + f" FROM {counter.format(n=n)}"
            )
            conn.exec_driver_sql(sql)
    if postgres:  # as autovacuum would have by then; SQLite databases are never analyzed
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def sweep(db: Database, overdue: int) -> dict[str, float]:
    """Every overdue message ended, a batch at a time; then the baseline: the same selection without
    the index."""
    durations = []
    ended = 0
    while True:
        with db.engine.begin() as conn:
            seconds, n = timed(lambda conn=conn: time_out_receipts(conn, NOW, TIMEOUT, {}))
        if not n:
            break
        durations.append(seconds)
        ended += n
    assert ended == overdue, (ended, overdue)
    select = (
        "SELECT id FROM messages WHERE state = 'submitted' AND connector = 'smpp-gw'"
        f" AND submitted_at < {NOW - TIMEOUT} ORDER BY submitted_at LIMIT 1000"
    )
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {INDEX}")
        scan, _ = timed(lambda: conn.exec_driver_sql(select).all())
        conn.exec_driver_sql(INDEX_SQL)
    return {
        "batches": len(durations),
        "median_ms": statistics.median(durations) * 1000 if durations else 0.0,
        "slowest_ms": max(durations, default=0.0) * 1000,
        "scan_ms": scan * 1000,
    }


def flow(db: Database, count: int) -> float:
    """Messages a second through claim, submit result and receipt, a batch of 500 at a time."""
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO messages (send_id, customer_id, account_id, mobile, content, kind, segments,"
            " carrier, state, created_at) SELECT send_id, customer_id, account_id, mobile, content, kind,"
            f" segments, carrier, 'queued', {NOW} FROM messages WHERE state = 'delivered' ORDER BY id"
            f" LIMIT {count}"
        )
    started = time.perf_counter()
    done = 0
    while done < count:
        with db.engine.begin() as conn:
            batch = claim(conn, "bench", NOW, BATCH, 30)
        outcomes = [Submitted(m.id, CONNECTORS[m.id % 3], (f"r{m.id}",)) for m in batch]
        with db.engine.begin() as conn:
            record_results(conn, "bench", outcomes, NOW)
        with db.engine.begin() as conn:
            apply_receipts(
                conn, [ReceiptIn(o.connector, o.remote_ids[0], "DELIVRD", "000") for o in outcomes], NOW
            )
        done += len(batch)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2_000_000)
    parser.add_argument("--overdue", type=int, default=20_000)
    parser.add_argument("--flow", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of the hot path, each way")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="smsplatform-timeouts-"))
    url = args.database_url or sqlite_url(workdir)
    try:
        engine = create_engine(url)
        migrate(engine)
        started = time.perf_counter()
        fill(engine, args.messages, args.overdue)
        engine.dispose()
        filled = time.perf_counter() - started
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {engine.dialect.name}: "
            f"{args.messages:,} finished + {args.overdue:,} overdue messages (filled in {filled:.0f} s)"
        )
        db = Database.open(url, run_migrations=False)
        try:
            found = sweep(db, args.overdue)
            print(
                f"sweep: {found['batches']:.0f} batches of 1,000, median {found['median_ms']:.1f} ms, "
                f"slowest {found['slowest_ms']:.1f} ms; the same selection without the index: "
                f"{found['scan_ms']:.0f} ms"
            )
            rates: dict[bool, list[float]] = {True: [], False: []}
            for run in range(2 * args.runs):
                indexed = run % 2 == 0
                if not indexed:
                    with db.engine.begin() as conn:
                        conn.exec_driver_sql(f"DROP INDEX {INDEX}")
                rates[indexed].append(flow(db, args.flow))
                if not indexed:
                    with db.engine.begin() as conn:
                        conn.exec_driver_sql(INDEX_SQL)
            with_index, without = statistics.median(rates[True]), statistics.median(rates[False])
            for indexed, label in ((True, "with"), (False, "without")):
                print(f"  runs {label} the index: " + ", ".join(f"{r:,.0f}" for r in rates[indexed]))
            print(
                f"hot path (claim, submit result, receipt; batches of {BATCH}): {with_index:,.0f} msg/s with "
                f"the index, {without:,.0f} msg/s without ({(with_index / without - 1) * 100:+.1f}%)"
            )
        finally:
            db.close()
    finally:
        if args.database_url:
            engine = create_engine(url)
            metadata.drop_all(engine)
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
