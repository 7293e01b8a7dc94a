"""Benchmark of the customer API: embedded (SQLite, one server process) or scaled out.

    .venv/bin/python bench/api_send.py [--duration 10] [--connections 64]
    .venv/bin/python bench/api_send.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \
        --redis-url redis://127.0.0.1:6379/0 --nodes 3

Starts `smsplatform serve` on a free port with a fresh data directory (scaled out: a fresh database on
the PostgreSQL server `--database-url` names, dropped afterwards, migrated once, and `--nodes` API
nodes sharing the Redis at `--redis-url`), and with `wrk` (Debian package `wrk`) on loopback measures,
in the same run (with several nodes, one wrk per node at once, the rates added up):
- single-number `send` at 64 concurrent connections: requests/s and latency percentiles;
- the bare `/healthz` endpoint of the same server (the baseline: HTTP and the framework alone);
  the two in turns, `--rounds` of each, so that the load of others on a shared machine weighs on both
  alike (the rates are the rounds' mean, the percentiles their median);
- one 5,000-number marketing `send`: time to the answer (median of several).
Prints the figures and the ratio send/baseline (the closer to 1, the less the platform costs).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SMS = [str(ROOT / ".venv" / "bin" / "smsplatform")]

SEND_LUA = r"""
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  local mobile = string.format("139%08d", math.random(0, 99999999))
  return wrk.format("GET", "/sms/send?appkey=%s&mobile=" .. mobile .. "&content=%s")
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([*SMS, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def wrk(url: str, duration: int, connections: int, script: str | None = None) -> dict[str, float]:
    args = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        if script:
            fh.write(script)
            args[1:1] = ["-s", fh.name]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    os.unlink(fh.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|90|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    return {
        "rps": rps,
        "p50": ms(lat["50"]),
        "p90": ms(lat["90"]),
        "p99": ms(lat["99"]),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def server_env(role: str) -> tuple[dict[str, str], int]:
    """The environment of a benchmark's `serve` (a fresh data directory, sub-accounts and templates
    approved on their checks, no per-IP limits: the load comes from one address) and its free port."""
    env = {
        **os.environ,
        "SMSPLATFORM_DATA_DIR": str(Path(tempfile.mkdtemp(prefix="smsbench-"))),
        "SMSPLATFORM_AUTO_APPROVE": "1",
        "SMSPLATFORM_IP_LIMIT_PER_SECOND": "0",
        "SMSPLATFORM_IP_LIMIT_PER_MINUTE": "0",
        "SMSPLATFORM_ROLE": role,
        "SMSPLATFORM_ADMIN_PORT": str(free_port()),
    }
    return env, free_port()


def fresh_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the PostgreSQL server of `server_url`, and how to drop it: earlier
    runs' messages and limits must not count in this one."""
    import sqlalchemy as sa

    url = sa.make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"smsbench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    fresh = url.set(database=name).render_as_string(hide_password=False)
    return fresh.replace("postgresql+psycopg://", "postgresql://", 1), drop


def wrk_all(urls: list[str], duration: int, connections: int, script: str | None) -> dict[str, float]:
    """`wrk` against every node at once, the connections split among them: the rates added up, the
    latencies the worst node's."""
    if len(urls) == 1:
        return wrk(urls[0], duration, connections, script)
    each = max(1, connections // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(lambda url: wrk(url, duration, each, script), urls))
    return {
        "rps": sum(r["rps"] for r in results),
        **{key: max(r[key] for r in results) for key in ("p50", "p90", "p99", "socket_errors")},
        "non2xx": sum(r["non2xx"] for r in results),
    }


def combined(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Rounds of one measurement as one: the mean rate, the median percentiles, the errors added up."""
    return {
        "rps": statistics.mean(r["rps"] for r in rounds),
        **{key: statistics.median(r[key] for r in rounds) for key in ("p50", "p90", "p99")},
        "non2xx": sum(r["non2xx"] for r in rounds),
        "socket_errors": max(r["socket_errors"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load for each of the two")
    parser.add_argument("--rounds", type=int, default=5, help="turns the duration is split into")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--role",
        default="api",
        help="what the server runs: api (acceptance alone, the default), or all (delivery too)",
    )
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server (postgresql://user@host:port/db) to run on, in a fresh database",
    )
    parser.add_argument("--redis-url", default="", help="the Redis the nodes share (scaled out)")
    parser.add_argument("--nodes", type=int, default=1, help="API nodes started (several need --redis-url)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")
    if args.nodes < 1:
        raise SystemExit("--nodes must be 1 or more")
    if args.rounds < 1 or args.duration < args.rounds:
        raise SystemExit(
            "--rounds must be 1 or more, and at most --duration (a round lasts a second at least)"
        )
    if args.nodes > 1 and not (args.database_url and args.redis_url):
        raise SystemExit("several nodes share one PostgreSQL database and one Redis: give both")
    if args.database_url and not args.database_url.startswith("postgresql"):
        raise SystemExit("--database-url must name a PostgreSQL server (postgresql://...)")

    env, port = server_env(args.role)
    drop_database: Callable[[], None] = lambda: None  # noqa: E731
    if args.database_url:
        env["SMSPLATFORM_DATABASE_URL"], drop_database = fresh_postgres_database(args.database_url)
    if args.redis_url:
        env["SMSPLATFORM_REDIS_URL"] = args.redis_url
    run_cli(env, "migrate")
    env["SMSPLATFORM_MIGRATE"] = "0"  # migrated once, above: the nodes never race on it
    ports = [port, *(free_port() for _ in range(args.nodes - 1))]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    base = bases[0]
    appkey = run_cli(env, "customer", "create", "--name", "bench", "--totalnum", "1000000000")
    servers = [
        subprocess.Popen(
            [*SMS, "serve", "--port", str(p)],
            env={**env, "SMSPLATFORM_NODE_NAME": f"api{n}", "SMSPLATFORM_ADMIN_PORT": str(free_port())},
        )
        for n, p in enumerate(ports)
    ]
    try:
        for node in bases:
            wait_ready(node)
        account = httpx.get(
            f"{base}/sms/addaccount",
            params={"appkey": appkey, "company": "Bench", "signature": "【压测】", "totalnum": "900000000"},
        ).json()["result"]
        for name, content, market in (
            ("notice", "您的订单@已发货", "0"),
            ("promo", "双十一大促，全场@折起，回TD退订", "1"),
        ):
            reply = httpx.get(
                f"{base}/sms/addtemplate",
                params={
                    "appkey": appkey,
                    "accountid": account["accountid"],
                    "name": name,
                    "content": content,
                    "ismarket": market,
                },
            ).json()
            assert reply["result"]["status"] == "1", reply
        time.sleep(1)

        content = httpx.URL("", params={"c": "【压测】您的订单A1234已发货"}).query.decode()[2:]
        script = SEND_LUA.replace("%s&mobile", f"{appkey}&mobile").replace("content=%s", f"content={content}")
        # Warm up, then measure the baseline and send in turns on the same server.
        wrk_all([f"{b}/healthz" for b in bases], 2, args.connections, None)
        each = args.duration // args.rounds
        rounds = [
            (
                wrk_all([f"{b}/healthz" for b in bases], each, args.connections, None),
                wrk_all(bases, each, args.connections, script),
            )
            for _ in range(args.rounds)
        ]
        baseline = combined([bare for bare, _ in rounds])
        sent = combined([send for _, send in rounds])

        timings = []
        for round_ in range(5):
            # Fresh numbers each round: marketing allows one message per number a day.
            body = {
                "appkey": appkey,
                "mobile": ",".join(f"15{round_}{n:08d}" for n in range(5000)),
                "content": f"【压测】双十一大促，全场{round_ + 5}折起，回TD退订",
            }
            start = time.perf_counter()
            reply = httpx.post(f"{base}/sms/send", data=body, timeout=30).json()
            timings.append((time.perf_counter() - start) * 1000)
            assert reply["status"] == "0" and reply["result"]["count"] == "5000", reply
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        drop_database()
        shutil.rmtree(env["SMSPLATFORM_DATA_DIR"], ignore_errors=True)

    cores = os.cpu_count()
    if args.database_url:
        shared = f"Redis shared by {args.nodes} API node(s)" if args.redis_url else "no Redis"
        mode = f"PostgreSQL, {shared}"
    else:
        mode = "embedded mode (SQLite WAL)"
    print(f"machine: {cores} cores, {sys.platform}; {mode}, role {args.role}")
    print(f"load: wrk -c {args.connections} on loopback, {args.rounds} rounds of each, in turns")
    for label, m in (("bare /healthz", baseline), ("send, 1 number", sent)):
        print(
            f"{label:22} {m['rps']:9.0f} req/s   p50 {m['p50']:6.2f} ms   p99 {m['p99']:6.2f} ms"
            f"   (non-2xx: {m['non2xx']:.0f})"
        )
    ratios = [send["rps"] / bare["rps"] for bare, send in rounds]
    print(
        f"send / bare ratio      {sent['rps'] / baseline['rps']:9.2f}"
        f"   (rounds of {each} s: {min(ratios):.2f} to {max(ratios):.2f})"
    )
    median = statistics.median(timings)
    print(f"send, 5,000 numbers    {median:9.1f} ms median of {len(timings)} (min {min(timings):.1f})")
    target_ok = sent["rps"] >= 2000 and sent["p99"] < 50 and statistics.median(timings) < 200
    print("targets (>= 2,000 req/s, p99 < 50 ms, 5,000 numbers < 200 ms):", "met" if target_ok else "NOT met")


if __name__ == "__main__":
    main()
