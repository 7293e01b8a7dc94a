"""Wake-up latency, scaled out: from a send's answer on one node to its submit at the SMSC, on an idle
platform, with the PostgreSQL wake-ups (LISTEN/NOTIFY) and, in the same run, without them (polling).

    .venv/bin/python bench/wakeup_latency.py [--sends 200] [--database-url postgresql://...]

A PostgreSQL server of the benchmark's own, configured as a production deployment would be
(bench/postgres_server.py; with `--database-url`, a database made for the run on that server instead,
dropped afterwards), an SMPP simulator in a process of its own, and two `serve` nodes: `--role api`
and `--role dispatch,callbacks` (with its default dispatch workers). Single-number verification sends
go one at a time, with a random pause between them (the platform is idle when each arrives).

Each is timed here, outside the platform: from the moment its HTTP answer is read to the moment the
simulator's count of received messages goes up (asked over one kept-open control connection every
half millisecond). Prints p50, p99 and max for each mode. The target is a p99 under 50 ms with
wake-ups; polling alone waits up to the dispatcher's one-second poll.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is a package of the repository

from bench.delivery import ACCOUNT, CLI, free_port, platform_env  # noqa: E402
from bench.postgres_server import PostgresServer  # noqa: E402

SIGNATURE = "【压测】"
CODE = "您的验证码是@，5分钟内有效"
POLL_EVERY = 0.0005  # seconds between questions to the simulator
PAUSES = (0.05, 0.25)  # seconds between two sends, drawn uniformly


class Simulator:
    """An SMPP simulator in a process of its own, and its count of messages received."""

    def __init__(self) -> None:
        self.port = free_port()
        control = free_port()
        self.process = subprocess.Popen(
            [*CLI, "simulator", "--protocol", "smpp", "--port", str(self.port), "--control-port",
             str(control), "--account", ":".join(ACCOUNT), "--receipt-delay", "0.05"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                self._sock = socket.create_connection(("127.0.0.1", control))
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.process.kill()
                    raise SystemExit("the simulator did not start") from None
                time.sleep(0.1)
        self._file = self._sock.makefile("rwb")

    def messages(self) -> int:
        self._file.write(b'{"cmd": "counters"}\n')
        self._file.flush()
        answer: dict[str, Any] = json.loads(self._file.readline())
        return int(answer["result"]["messages"])

    def wait_beyond(self, count: int, within: float = 30.0) -> float:
        """Until more than `count` messages were received; the monotonic time it was seen."""
        deadline = time.monotonic() + within
        while True:
            if self.messages() > count:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise SystemExit(f"no submit at the simulator within {within:.0f} s")
            time.sleep(POLL_EVERY)

    def close(self) -> None:
        self._file.close()
        self._sock.close()
        self.process.terminate()
        self.process.wait(timeout=10)


@contextmanager
def database(admin_url: str | None) -> Iterator[str]:
    """A new database on the server of `admin_url`, dropped afterwards; without one, on a server of
    the benchmark's own."""
    if admin_url is None:
        server = PostgresServer(port=free_port())
        server.start()
        try:
            yield server.create_database("smsbench_wakeups")
        finally:
            server.stop()
        return
    admin = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = admin.execution_options(isolation_level="AUTOCOMMIT")
    name = f"smsbench_wakeups_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = str(sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([*CLI, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def wait_up(url: str, process: subprocess.Popen[bytes], within: float = 120.0) -> None:
    """Until `url` (a node's /healthz) answers 200: a loaded machine may take a while to start a node."""
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"a node exited at start with status {process.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {within:.0f} s")
        time.sleep(0.2)


@contextmanager
def nodes(env: dict[str, str], wakeups: bool) -> Iterator[str]:
    """The API node and the dispatch node up; yields the API's base URL."""
    api_port, health_port = free_port(), free_port()
    env = {**env, "SMSPLATFORM_WAKEUPS": "1" if wakeups else "0"}
    api = subprocess.Popen(
        [*CLI, "serve", "--role", "api", "--port", str(api_port), "--node-name", "api-1", "--no-migrate"],
        env=env,
    )
    dispatch = subprocess.Popen(
        [*CLI, "serve", "--role", "dispatch,callbacks", "--node-name", "dispatch-1", "--no-migrate",
         "--health-port", str(health_port)],
        env=env,
    )  # fmt: skip
    try:
        wait_up(f"http://127.0.0.1:{api_port}/healthz", api)
        wait_up(f"http://127.0.0.1:{health_port}/healthz", dispatch)
        yield f"http://127.0.0.1:{api_port}"
    finally:
        for process in (api, dispatch):
            process.send_signal(signal.SIGTERM)
        for process in (api, dispatch):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def onboard(base: str, appkey: str, total: int) -> None:
    account = httpx.post(
        f"{base}/sms/addaccount",
        data={"appkey": appkey, "company": "bench", "signature": SIGNATURE, "totalnum": str(total)},
    ).json()["result"]
    added = httpx.post(
        f"{base}/sms/addtemplate",
        data={"appkey": appkey, "accountid": account["accountid"], "name": "code", "content": CODE},
    ).json()
    if added["result"]["status"] != "1":
        raise SystemExit(f"the template was not approved: {added}")


def measure(base: str, appkey: str, simulator: Simulator, sends: int, first: int) -> list[float]:
    """Seconds from each send's answer to its submit at the simulator."""
    latencies: list[float] = []
    content = f"{SIGNATURE}您的验证码是4321，5分钟内有效"
    with httpx.Client(base_url=base, timeout=30) as client:
        for n in range(first, first + sends + 1):  # the first one binds the links: not counted
            time.sleep(random.uniform(*PAUSES))
            before = simulator.messages()
            answer = client.post(
                "/sms/send", data={"appkey": appkey, "mobile": f"138{n:08d}", "content": content}
            )
            answered = time.monotonic()
            if answer.json().get("status") != "0":
                raise SystemExit(f"send refused: {answer.text}")
            seen = simulator.wait_beyond(before)
            if n > first:
                latencies.append(seen - answered)
    return latencies


def notify_alone(url: str, count: int) -> list[float]:
    """Seconds from `notify` to the listener's event, between two `Wakeups` of this process: what the
    wake-up itself costs, beside the claim and the submit it starts."""
    import asyncio

    import uvloop

    from smsplatform.store.wakeups import OUTBOX, Wakeups

    async def run() -> list[float]:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
        sender, listener, event = Wakeups(conninfo), Wakeups(conninfo), asyncio.Event()
        listener.listen(OUTBOX, event)
        sender.start()
        listener.start()
        await listener.listening()
        times: list[float] = []
        try:
            for _ in range(count):
                await asyncio.sleep(random.uniform(0.001, 0.01))
                event.clear()
                began = time.monotonic()
                sender.notify(OUTBOX)
                await event.wait()
                times.append(time.monotonic() - began)
        finally:
            await sender.close()
            await listener.close()
        return times

    return uvloop.run(run())


def figures(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
        f"max {ordered[-1] * 1000:7.1f} ms   ({len(ordered)} sends)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=200, help="timed sends per mode (default 200)")
    parser.add_argument(
        "--database-url",
        help="a running PostgreSQL server to make the run's database on (its URL, any database); by"
        " default the benchmark starts a server of its own",
    )
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="smsbench-wakeups-"))
    simulator = Simulator()
    results: dict[str, list[float]] = {}
    try:
        with database(args.database_url) as url:
            env = {**platform_env(data_dir), "SMSPLATFORM_DATABASE_URL": url}
            cli(env, "migrate")
            cli(
                env, "connector", "add", "upstream", "--protocol", "smpp", "--host", "127.0.0.1",
                "--port", str(simulator.port), "--system-id", ACCOUNT[0], "--password", ACCOUNT[1],
                "--src-number", "1069000", "--carriers", "mobile,unicom,telecom,broadnet",
            )  # fmt: skip
            total = 4 * (args.sends + 1)
            appkey = cli(env, "customer", "create", "--name", "bench", "--totalnum", str(total))
            for mode, wakeups in (("LISTEN/NOTIFY", True), ("polling", False)):
                with nodes(env, wakeups) as base:
                    if not results:
                        onboard(base, appkey, total)
                    first = len(results) * (args.sends + 1)
                    results[mode] = measure(base, appkey, simulator, args.sends, first)
                print(f"{mode:>14}: {figures(results[mode])}", flush=True)
            print(f"{'NOTIFY alone':>14}: {figures(notify_alone(url, args.sends))}", flush=True)
    finally:
        simulator.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    server = f"at {args.database_url.split('@')[-1]}" if args.database_url else "of its own"
    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL {server}; nodes: api, dispatch+callbacks (default"
        f" workers); from the send's HTTP answer to the submit at the SMSC;"
        f" pauses {PAUSES[0]:g}-{PAUSES[1]:g} s; load average at the end"
        f" {' '.join(f'{load:.1f}' for load in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
