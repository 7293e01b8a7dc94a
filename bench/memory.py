"""Memory and speed over a million messages: does anything grow with the traffic?

    .venv/bin/python bench/memory.py [--messages 1000000] [--protocol smpp] [--database-url URL]

Starts `smsplatform serve` (embedded mode, SQLite unless `--database-url`, its dispatch workers) wired
to a simulator in its own process (as `bench/delivery.py` does), and sends marketing messages to
distinct numbers in sends of 5,000, keeping at most `--backlog` messages accepted and not yet reported,
so that acceptance and delivery run side by side from the first message to the last. A callback
receiver in this process counts the status reports. Prints:
- the resident memory (RSS, from /proc) of serve and of each dispatch worker before the first send,
  and when half and all of the messages were reported; the targets: less than 50 MB of growth in all
  from half to all;
- the end-to-end rate (status reports per second) over the first tenth (from the first request) and
  the last tenth; the target: the last at least 90% of the first, i.e. no slowing down as the tables
  fill (1,000,000 stored messages against an empty database).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is a package of the repository

from bench.delivery import (  # noqa: E402
    SIGNATURE,
    ReportReceiver,
    children,
    free_port,
    mobile_of,
    platform_env,
    start_platform,
    start_simulator,
)

PER_SEND = 5000


def rss_mb(pid: int) -> float:
    """Resident memory of a live process, in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Marks:
    """Watches the report count: the time it passed each tenth, and every process's RSS at half and all."""

    counter: ReportReceiver
    total: int
    pids: dict[str, int]
    times: dict[int, float] = field(default_factory=dict)
    rss: dict[int, dict[str, float]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def sample(self, at: int) -> None:
        self.rss[at] = {name: rss_mb(pid) for name, pid in self.pids.items()}

    def watch(self) -> None:
        tenth = self.total // 10
        next_mark = tenth
        while not self.stop.is_set() and next_mark <= self.total:
            count = self.counter.count
            if count >= next_mark:
                self.times[next_mark] = time.perf_counter()
                if next_mark in (self.total // 2, self.total):
                    self.sample(next_mark)
                next_mark += tenth
                continue
            time.sleep(0.005)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.watch, daemon=True)
        thread.start()
        return thread


def statistics_keeper(url: str) -> sa.Engine | None:
    """On a PostgreSQL server without autovacuum (test servers are often set so), the planner never gets
    statistics and scans tables it should look up by index, and every state change leaves a dead row
    version that is never reclaimed: slower the bigger the tables grow. The benchmark then does what
    autovacuum would, VACUUM ANALYZE as the tables grow. None where autovacuum runs."""
    engine = sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as conn:
        if conn.exec_driver_sql("SHOW autovacuum").scalar() == "on":
            engine.dispose()
            return None
    return engine


def mobiles(n: int) -> str:
    """The numbers of send `n`: 5,000 distinct ones, none shared with another send (as delivery.py)."""
    return ",".join(mobile_of(n * PER_SEND + i) for i in range(PER_SEND))


def run(args: argparse.Namespace) -> None:
    total = args.messages
    sends = total // PER_SEND
    if sends * PER_SEND != total or total > 10**8:
        raise SystemExit(f"--messages: a multiple of {PER_SEND} up to 100,000,000")
    sim, sim_port, _ = start_simulator(args.protocol)
    data_dir = Path(tempfile.mkdtemp(prefix="smsbench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = platform_env(data_dir)
    if args.database_url:
        env["SMSPLATFORM_DATABASE_URL"] = args.database_url
    counter = ReportReceiver(target=total)
    counter.start()
    analyzer = statistics_keeper(args.database_url) if args.database_url else None
    vacuuming = threading.Lock()

    def vacuum(engine: sa.Engine) -> None:
        with vacuuming, engine.connect() as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")

    server, appkey = start_platform(env, port, args.protocol, sim_port, total, counter.port)
    try:
        time.sleep(2)  # the links bind
        pids = {"serve": server.pid}
        for number, worker in enumerate(sorted(children(server.pid)), 1):
            pids[f"dispatch worker {number}"] = worker
        pids["simulator (not ours)"] = sim.pid
        marks = Marks(counter, total, pids)
        marks.sample(0)
        watcher = marks.start()
        start = time.perf_counter()
        with httpx.Client(timeout=120) as client:
            for n in range(sends):
                while (n * PER_SEND) - counter.count > args.backlog - PER_SEND:
                    time.sleep(0.01)
                reply = client.post(
                    f"{base}/sms/send",
                    data={
                        "appkey": appkey,
                        "mobile": mobiles(n),
                        "content": f"{SIGNATURE}会员日全场8折起，回TD退订",
                    },
                ).json()
                assert reply["status"] == "0" and reply["result"]["count"] == str(PER_SEND), reply
                if analyzer is not None and n % 10 == 1 and not vacuuming.locked():
                    # Every 50,000 messages from the first send on, beside the traffic as autovacuum runs.
                    threading.Thread(target=vacuum, args=(analyzer,), daemon=True).start()
        if not counter.done.wait(3600):
            raise SystemExit(f"only {counter.count} of {total} reports arrived")
        watcher.join(timeout=10)
        marks.stop.set()
        restarted = sorted(set(children(server.pid)) - set(pids.values()))
        db_bytes = sum(p.stat().st_size for p in data_dir.glob("smsplatform.db*"))
    finally:
        server.terminate()
        server.wait(timeout=120)
        sim.terminate()
        sim.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    half, tenth = total // 2, total // 10
    print(
        f"machine: {os.cpu_count()} cores; {'PostgreSQL' if args.database_url else 'SQLite (WAL)'}; "
        f"{args.protocol} simulator in its own process"
    )
    print(
        f"{total:,} marketing messages to distinct numbers: {sends} sends of {PER_SEND:,}, at most "
        f"{args.backlog:,} awaiting their reports"
    )
    print(f"{'RSS (MB)':24} {'at 0':>8} {f'at {half:,}':>12} {f'at {total:,}':>14} {'growth, 2nd half':>18}")
    growth = 0.0
    for name in pids:
        at = [marks.rss[mark][name] for mark in (0, half, total)]
        print(f"{name:24} {at[0]:8.1f} {at[1]:12.1f} {at[2]:14.1f} {at[2] - at[1]:+18.1f}")
        if name != "simulator (not ours)":
            growth += at[2] - at[1]
    print(f"{'platform, all processes':24} {'':8} {'':12} {'':14} {growth:+18.1f}   (target < 50 MB)")
    if analyzer is not None:
        print("note: the server runs without autovacuum: VACUUM ANALYZE every 50,000 messages, as it would")
    if restarted:
        print(f"note: dispatch workers restarted during the run (new pids {restarted}): their RSS is missing")
    first = tenth / (marks.times[tenth] - start)
    last = tenth / (marks.times[total] - marks.times[total - tenth])
    print(f"end to end, first {tenth:,}: {first:8.0f} msg/s (from the first request)")
    print(f"end to end, last {tenth:,}:  {last:8.0f} msg/s   ratio {last / first:.2f} (target ≥ 0.90)")
    tenths = [tenth / (marks.times[m] - marks.times.get(m - tenth, start)) for m in sorted(marks.times)]
    print("each tenth, msg/s:", " ".join(f"{rate:.0f}" for rate in tenths))
    # The first tenth starts with an empty pipeline and the last ends with the backlog draining alone:
    # the second and the ninth compare the steady state, all stages busy, on a small and a full table.
    print(f"steady state, 9th tenth / 2nd tenth: {tenths[8] / tenths[1]:.2f}")
    print(f"total {total / (marks.times[total] - start):.0f} msg/s over {marks.times[total] - start:.0f} s")
    if not args.database_url:
        print(f"database files at the end: {db_bytes / 2**20:.0f} MB")
    met = growth < 50 and last >= 0.9 * first
    print(
        "targets (growth < 50 MB from half to all, last tenth ≥ 90% of the first):",
        "met" if met else "NOT met",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--protocol", default="smpp")
    parser.add_argument("--database-url", default="", help="PostgreSQL instead of SQLite (an empty database)")
    parser.add_argument("--backlog", type=int, default=10_000, help="messages accepted and not yet reported")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
