"""Does the outbox cost the same per message with millions of messages stored? (PostgreSQL)

    .venv/bin/python bench/store_volume.py [--stored 1000000] [--messages 20000] [--repeat 3] [--postgres URL]

On databases of its own, one empty and one filled, measured in turns: the per-message cost of
accepting (`store.outbox.accept_sends`), claiming (`store.claims.claim`) and recording results
(`store.results.record_results`), on an empty message table and with `--stored` messages spread over
the past days of the retention (made in SQL straight into their day partitions, with a part each and
a send per ten), and the ratio of the two.

PostgreSQL as a deployment runs it: autovacuum on. Autovacuum is a server setting, so when the server
at `--postgres` runs without it, the benchmark starts a server of its own (initdb in a temporary
directory, bench/postgres_server.py) configured for production, and removes it after.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: bench/ is a package

from bench.postgres_server import PostgresServer
from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store import partitions
from smsplatform.store.claims import claim
from smsplatform.store.database import Database, normalize_url
from smsplatform.store.outbox import NewMessage, SendRequest, accept_sends
from smsplatform.store.results import record_results
from smsplatform.store.schema import accounts, customers

DATABASE = "smsplatform_bench_volume"
OWNER = "bench-dispatcher"
PER_REQUEST = 10  # numbers per send
PER_ACCEPT = 50  # sends per accept_sends call: one transaction, as the API's batches
CLAIM_SIZE = 500
DAYS_STORED = 80  # within the default retention of 90 days


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_with_autovacuum(url: str) -> Iterator[str]:
    """`url` when its server runs autovacuum; else the URL of a server of our own, configured for
    production (bench/postgres_server.py)."""
    admin = sa.create_engine(normalize_url(url))
    try:
        with admin.connect() as conn:
            on = conn.exec_driver_sql("SHOW autovacuum").scalar() == "on"
    finally:
        admin.dispose()
    if on:
        yield url
        return
    print(f"the server at {url} runs with autovacuum off: starting one of our own with it on")
    server = PostgresServer(free_port())
    try:
        server.start()
        yield server.url()
    finally:
        server.stop()


def fresh_database(url: str, name: str) -> str:
    admin = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return str(sa.make_url(normalize_url(url)).set(database=name))


def seed(engine: sa.Engine, now: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(customers).values(
                id=1, name="bench", appkey_hash="bench", totalnum=10**12, created_at=now
            )
        )
        conn.execute(
            sa.insert(accounts).values(
                id=1,
                customer_id=1,
                company="bench",
                signature="【压测】",
                totalnum=10**12,
                extension="0001",
                addtime=now,
                status=1,
            )
        )


@dataclass
class Costs:
    accept: float  # microseconds per message
    claim: float
    record: float


def measure(engine: sa.Engine, messages: int, rng: random.Random) -> Costs:
    """Accepts `messages`, claims them all and records each as submitted; µs per message each."""
    now = int(time.time())
    spent = {"accept": 0.0, "claim": 0.0, "record": 0.0}
    accepted = 0
    while accepted < messages:
        requests = [
            SendRequest(
                customer_id=1,
                account_id=1,
                messages=[
                    NewMessage(
                        f"138{rng.randrange(10**8):08d}",
                        "【压测】您的验证码是1234",
                        1,
                        "notification",
                        "mobile",
                        i,
                    )
                    for i in range(PER_REQUEST)
                ],
                now=now,
            )
            for _ in range(PER_ACCEPT)
        ]
        started = time.perf_counter()
        with engine.begin() as conn:
            accept_sends(conn, requests)
        spent["accept"] += time.perf_counter() - started
        accepted += PER_ACCEPT * PER_REQUEST
    recorded = 0
    while recorded < accepted:
        started = time.perf_counter()
        with engine.begin() as conn:
            claimed = claim(conn, OWNER, now, CLAIM_SIZE, 60)
        spent["claim"] += time.perf_counter() - started
        if not claimed:
            break
        outcomes = [Submitted(m.id, "smsc-1", (f"b{m.id}",)) for m in claimed]
        started = time.perf_counter()
        with engine.begin() as conn:
            record_results(conn, OWNER, outcomes, now)
        spent["record"] += time.perf_counter() - started
        recorded += len(claimed)
    if recorded != accepted:
        raise SystemExit(f"claimed {recorded} of {accepted} accepted messages")
    return Costs(*(spent[k] / accepted * 1e6 for k in ("accept", "claim", "record")))


def best(runs: list[Costs]) -> Costs:
    """Each cost at its lowest over the runs: on a shared machine, the others' load only adds."""
    return Costs(*(min(getattr(r, k) for r in runs) for k in ("accept", "claim", "record")))


def store_history(engine: sa.Engine, stored: int, now: int) -> float:
    """`stored` delivered messages over the past DAYS_STORED days, each with a part, a send per ten;
    generated in SQL into each day's partition. Returns the seconds it took."""
    started = time.monotonic()
    today = partitions.day_of(now)
    per_day = -(-stored // DAYS_STORED)
    with engine.connect() as conn:
        conn.execute(sa.text("SET synchronous_commit = off"))
        conn.commit()
        first_send = 10_000_000
        for back in range(DAYS_STORED, 0, -1):
            count = min(per_day, stored - per_day * (DAYS_STORED - back))
            if count <= 0:
                break
            day = today - back
            low = partitions.first_id_of_day(day)
            at = day * partitions.DAY + 43_200
            with conn.begin():
                partitions.create_ahead(conn, day, 0)
                conn.exec_driver_sql(
                    "INSERT INTO sends (id, customer_id, account_id, count, fee, created_at)"
                    f" SELECT {first_send} + g, 1, 1, 10, 10, {at}"
                    f" FROM generate_series(0, {(count - 1) // 10}) g"
                )
                conn.exec_driver_sql(
                    f"INSERT INTO {partitions.partition_name(day)} (id, send_id, customer_id, account_id,"
                    " mobile, content, kind, segments, carrier, state, attempts, connector, stat, errcode,"
                    " created_at, submitted_at, done_at)"
                    f" SELECT {low} + g, {first_send} + g / 10, 1, 1,"
                    " '138' || lpad(mod(g * 7919, 100000000)::text, 8, '0'),"
                    " '【压测】您的验证码是1234', 'notification', 1, 'mobile', 'delivered', 1, 'smsc-1',"
                    f" 'DELIVRD', '', {at}, {at + 1}, {at + 5} FROM generate_series(1, {count}) g"
                )
                conn.exec_driver_sql(
                    "INSERT INTO message_parts (message_id, part, connector, remote_id, stat, err)"
                    f" SELECT {low} + g, 1, 'smsc-1', 'h' || ({low} + g), 'DELIVRD', '000'"
                    f" FROM generate_series(1, {count}) g"
                )
            first_send += count // 10 + 1
            print(f"  {day - today:+d} days: {count:,} messages ", end="\r", flush=True)
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('sends', 'id'), (SELECT max(id) FROM sends))"
        )
        conn.commit()
    print()
    return time.monotonic() - started


def report(label: str, costs: Costs) -> None:
    print(
        f"{label:<28} accept {costs.accept:7.1f} µs/msg   claim {costs.claim:7.1f} µs/msg"
        f"   record {costs.record:7.1f} µs/msg"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "SMSPLATFORM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--stored", type=int, default=1_000_000, help="messages stored for the second figure")
    parser.add_argument(
        "--messages", type=int, default=20_000, help="messages accepted, claimed and recorded per figure"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; each cost is the best")
    args = parser.parse_args()
    rng = random.Random(12)
    with server_with_autovacuum(args.postgres) as server:
        # Two databases on the one server, measured in turns: the machine's load over the minutes of
        # the run weighs on both figures alike.
        empty_db = Database.open(fresh_database(server, DATABASE + "_empty"))
        full_db = Database.open(fresh_database(server, DATABASE))
        try:
            for db in (empty_db, full_db):
                seed(db.engine, int(time.time()))
            print(f"storing {args.stored:,} messages over {DAYS_STORED} past days ...")
            took = store_history(full_db.engine, args.stored, int(time.time()))
            print(f"stored in {took:.0f} s; VACUUM ANALYZE (what autovacuum does after a bulk load) ...")
            with full_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            for db in (empty_db, full_db):
                measure(db.engine, 2_000, rng)  # warm-up: caches, prepared statements
            runs: dict[str, list[Costs]] = {"empty": [], "full": []}
            for _ in range(args.repeat):
                runs["empty"].append(measure(empty_db.engine, args.messages, rng))
                runs["full"].append(measure(full_db.engine, args.messages, rng))
            empty, full = (best(runs[k]) for k in ("empty", "full"))
            report("empty table", empty)
            report(f"{args.stored:,} stored", full)
            ratios = Costs(full.accept / empty.accept, full.claim / empty.claim, full.record / empty.record)
            print(
                f"{'ratio':<28} accept {ratios.accept:7.2f}          claim {ratios.claim:7.2f}          "
                f"record {ratios.record:7.2f}   (target: within 1.10)"
            )
        finally:
            empty_db.close()
            full_db.close()


if __name__ == "__main__":
    main()
