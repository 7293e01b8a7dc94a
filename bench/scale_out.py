"""Scaled out, end to end: the platform on PostgreSQL and Redis beside the SQLite figure of the same run.

    .venv/bin/python bench/scale_out.py [--sends 20] [--per-send 5000] [--stored 1000000]
                                        [--redis-url redis://127.0.0.1:6379/0]

From the first send to the last status report at the customer, 20 marketing sends of 5,000 numbers
(as bench/delivery.py measures them, with its pieces), to an SMPP simulator in its own process:
(a) SQLite, one `serve` with every role: the baseline;
(b) PostgreSQL and Redis, one `serve` with every role;
(c) PostgreSQL and Redis, the roles split over three processes: api, dispatch, callbacks;
(d) (b) and (c) again, with `--stored` delivered messages already in the table (made in SQL).

PostgreSQL is a server of the benchmark's own, configured as production would be (autovacuum on,
fsync on; see bench/postgres_server.py), removed afterwards. For each PostgreSQL run, the statements
that took the most of the server's time (pg_stat_statements) and each process's CPU are printed: where
the time goes. Targets: PostgreSQL at least 70% of the SQLite figure, and within 10% of its empty-table
figure with `--stored` messages stored.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is a package of the repository

from bench.delivery import (  # noqa: E402
    CLI,
    Control,
    ReportReceiver,
    add_upstream_and_customer,
    children,
    cpu_seconds,
    free_port,
    onboard,
    platform_env,
    platform_run,
    send_campaign,
    start_simulator,
    wait_healthy,
)
from bench.postgres_server import PostgresServer, memory_mb  # noqa: E402

SPLIT = ("api", "dispatch", "callbacks")
EVERY_ROLE = ("all",)
TOP_STATEMENTS = 8


@dataclass
class Node:
    """One `serve` process of the platform, with a data directory of its own (a machine of its own)."""

    role: str
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The node and its dispatch worker processes."""
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def start_nodes(env: dict[str, str], roles: tuple[str, ...]) -> list[Node]:
    nodes = []
    for n, role in enumerate(roles, 1):
        port = free_port()
        data_dir = Path(tempfile.mkdtemp(prefix="smsbench-node-"))
        node_env = {
            **env,
            "SMSPLATFORM_DATA_DIR": str(data_dir),
            "SMSPLATFORM_ROLE": role,
            "SMSPLATFORM_NODE_NAME": f"{role}-{n}",
            "SMSPLATFORM_ADMIN_PORT": str(free_port()),
        }
        if role != "all" and "api" not in role.split(","):
            node_env["SMSPLATFORM_HEALTH_PORT"] = str(port)
        process = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=node_env)
        nodes.append(Node(role, port, data_dir, process))
    try:
        for node in nodes:
            wait_healthy(f"{node.base}/healthz", node.process, within=120)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def fill(server: PostgresServer, database: str, stored: int, per_send: int) -> float:
    """`stored` delivered messages (and their parts) of the benchmark's customer, made in SQL, then
    vacuumed and analysed as autovacuum leaves a settled table; returns the seconds it took."""
    started = time.perf_counter()
    sends = -(-stored // per_send)
    server.execute(
        f"""
        WITH customer AS (SELECT customer_id, id AS account_id FROM accounts ORDER BY id LIMIT 1),
        made AS (
            INSERT INTO sends (customer_id, account_id, count, fee, created_at)
            SELECT customer_id, account_id, {per_send}, {per_send},
                   extract(epoch FROM now())::bigint - 3600
            FROM customer, generate_series(1, {sends})
            RETURNING id, customer_id, account_id, created_at
        )
        INSERT INTO messages (send_id, customer_id, account_id, mobile, content, kind, segments, carrier,
                              state, connector, stat, created_at, submitted_at, done_at)
        SELECT id, customer_id, account_id, '137' || lpad(mod(id * {per_send} + g, 100000000)::text, 8, '0'),
               '【压测】会员日全场8折起，回TD退订', 'marketing', 1, 'mobile', 'delivered', 'upstream',
               'DELIVRD', created_at, created_at, created_at + 5
        FROM made, generate_series(0, {per_send} - 1) AS g
        LIMIT {stored}
        """,
        database=database,
    )
    server.execute(
        """
        INSERT INTO message_parts (message_id, part, connector, remote_id, stat)
        SELECT id, 1, 'upstream', 'stored-' || id, 'DELIVRD' FROM messages
        """,
        database=database,
    )
    for table in ("sends", "messages", "message_parts"):
        server.execute(f"VACUUM ANALYZE {table}", database=database)
    return time.perf_counter() - started


@dataclass
class Run:
    label: str
    rate: float
    elapsed: float
    accepted: float
    cpu: dict[str, float]
    statements: list[tuple[int, float, float, str]] = field(default_factory=list)
    fill_seconds: float = 0.0


def backend_cpu(server: PostgresServer) -> dict[int, float]:
    """CPU seconds of each of the server's processes so far."""
    assert server.process is not None
    found: dict[int, float] = {}
    for postmaster in children(server.process.pid) or [server.process.pid]:
        for pid in [postmaster, *children(postmaster)]:
            try:
                found[pid] = cpu_seconds(pid)
            except OSError:
                continue
    return found


def postgres_run(
    label: str,
    server: PostgresServer,
    roles: tuple[str, ...],
    *,
    sim_port: int,
    sim_pid: int,
    redis_url: str,
    sends: int,
    per_send: int,
    stored: int = 0,
) -> Run:
    total = sends * per_send
    database = f"bench_{label.replace(' ', '_').replace(',', '')}_{secrets.token_hex(3)}"
    url = server.create_database(database)
    root = Path(tempfile.mkdtemp(prefix="smsbench-"))
    env = {
        **platform_env(root),
        "SMSPLATFORM_DATABASE_URL": url,
        "SMSPLATFORM_REDIS_URL": redis_url,
        # Every node must read what the others sealed (appkeys, connector passwords).
        "SMSPLATFORM_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "SMSPLATFORM_MIGRATE": "0",
    }
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
    counter = ReportReceiver(target=total)
    counter.start()
    appkey = add_upstream_and_customer(env, "smpp", sim_port, total)
    nodes = start_nodes(env, roles)
    try:
        (api,) = [n for n in nodes if n.role == "all" or "api" in n.role.split(",")]
        onboard(api.base, appkey, total, counter.port)
        filled = fill(server, database, stored, per_send) if stored else 0.0
        time.sleep(2)  # the links bind
        server.execute("SELECT pg_stat_statements_reset()")
        pids = {node.role: node.pids() for node in nodes}
        before = {role: sum(map(cpu_seconds, p)) for role, p in pids.items()}
        before_pg = backend_cpu(server)
        before_sim = cpu_seconds(sim_pid)
        start = time.monotonic()  # the receiver notes arrivals on this clock
        send_campaign(api.base, appkey, total, per_send)
        accepted = time.monotonic() - start
        if not counter.done.wait(600):
            raise SystemExit(f"{label}: only {counter.count} of {total} reports arrived")
        elapsed = counter.last_at - start
        cpu = {role: sum(map(cpu_seconds, p)) - before[role] for role, p in pids.items()}
        after_pg = backend_cpu(server)
        cpu["postgres"] = sum(after_pg[p] - before_pg.get(p, 0.0) for p in after_pg)
        cpu["simulator"] = cpu_seconds(sim_pid) - before_sim
        statements = [
            (int(calls), float(total_ms), float(mean_ms), " ".join(str(query).split())[:150])
            for calls, total_ms, mean_ms, query in server.execute(
                f"""
                SELECT calls, total_exec_time, mean_exec_time, query FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{database}')
                ORDER BY total_exec_time DESC LIMIT {TOP_STATEMENTS}
                """
            )
        ]
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(root, ignore_errors=True)
    server.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    return Run(label, total / elapsed, elapsed, accepted, cpu, statements, filled)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=20)
    parser.add_argument("--per-send", type=int, default=5000)
    parser.add_argument("--stored", type=int, default=1_000_000, help="messages stored for (d); 0: skip")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    total = args.sends * args.per_send
    runs: list[Run] = []
    server = PostgresServer(port=free_port())
    print(f"machine: {os.cpu_count()} cores, {memory_mb() / 1024:.0f} GB; SMPP simulator in its own process")
    print(
        "PostgreSQL 15 of the benchmark's own: " + ", ".join(f"{k}={v}" for k, v in server.settings.items())
    )
    print(
        f"{total:,} messages ({args.sends} marketing sends of {args.per_send:,}), first request → last report"
    )
    sys.stdout.flush()
    sim, sim_port, control_port = start_simulator("smpp")
    control = Control(control_port)
    try:
        server.start()
        sqlite = platform_run("smpp", sim_port, sim.pid, control, total, args.per_send, receiver_ms=0)
        cpu = {"all": sqlite["cpu_server"] + sqlite["cpu_workers"], "simulator": sqlite["cpu_simulator"]}
        runs.append(Run("sqlite, one node", sqlite["rate"], sqlite["elapsed"], sqlite["accepted"], cpu))
        report(runs[-1], runs[0].rate)

        def postgres(label: str, roles: tuple[str, ...], stored: int = 0) -> None:
            runs.append(
                postgres_run(
                    label, server, roles, sim_port=sim_port, sim_pid=sim.pid, redis_url=args.redis_url,
                    sends=args.sends, per_send=args.per_send, stored=stored,
                )
            )  # fmt: skip
            report(runs[-1], runs[0].rate)

        postgres("postgres, one node", EVERY_ROLE)
        postgres("postgres, three nodes", SPLIT)
        if args.stored:
            for label, roles in (("one node", EVERY_ROLE), ("three nodes", SPLIT)):
                postgres(f"postgres, {label}, {args.stored:,} stored", roles, args.stored)
    finally:
        control.close()
        sim.terminate()
        sim.wait(timeout=30)
        server.stop()

    baseline = runs[0].rate
    by_label = {run.label: run for run in runs}
    for label in ("postgres, one node", "postgres, three nodes"):
        share = by_label[label].rate / baseline
        print(f"{label}: {share:.0%} of SQLite (target ≥ 70%):", "met" if share >= 0.7 else "NOT met")
        if args.stored:
            stored = by_label[f"{label}, {args.stored:,} stored"].rate / by_label[label].rate
            print(
                f"{label}, {args.stored:,} stored: {stored:.0%} of the empty table (target ≥ 90%):",
                "met" if stored >= 0.9 else "NOT met",
            )
    sys.stdout.flush()


def report(run: Run, baseline: float) -> None:
    print(
        f"{run.label:42} {run.rate:7.0f} msg/s ({run.elapsed:5.1f} s; all accepted after "
        f"{run.accepted:4.1f} s)  {run.rate / baseline:4.0%} of SQLite"
        + (f"  (stored in {run.fill_seconds:.0f} s)" if run.fill_seconds else "")
    )
    print("      CPU s: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.cpu.items()))
    for calls, total_ms, mean_ms, query in run.statements:
        print(f"      {total_ms / 1000:6.2f} s {calls:7d} calls {mean_ms:7.3f} ms  {query}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
