"""End-to-end delivery benchmark: from the first send to the last status report at the customer.

    .venv/bin/python bench/delivery.py [--protocols smpp,cmpp] [--sends 20] [--per-send 5000]

For each protocol, in the same run:
1. the raw rate of the link alone: a connector submitting to a simulator in another process, no
   database (submits with receipts; the platform's own protocol limit);
2. the platform: `smsplatform serve` (embedded mode, SQLite) wired to that simulator (its own process),
   20 marketing sends of 5,000 numbers, a callback receiver (this process) counting status reports;
   messages/s from the first request to the last report received, and the CPU each process used.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(ROOT / ".venv" / "bin" / "smsplatform")]
ACCOUNT = ("901234", "password")  # short enough for every protocol (CMPP: 6)
SIGNATURE = "【压测】"
# Assigned mobile segments of all carriers (an unassigned one has no carrier, hence no route).
PREFIXES = [
    str(p) for p in (*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 180, 181, 186, 189)
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (serve's dispatch workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry.name))
    return found


@dataclass
class ReportCounter:
    """A minimal HTTP/1.1 receiver: counts report items, answers 200 with keep-alive."""

    count: int = 0
    last_at: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    target: int = 0
    port: int = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.count += body.count(b'"reportid"')
                self.last_at = time.perf_counter()
                if self.count >= self.target:
                    self.done.set()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            async def main() -> None:
                server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await server.serve_forever()

            asyncio.run(main())

        threading.Thread(target=run, daemon=True).start()
        ready.wait()


def start_simulator(protocol: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    sim = subprocess.Popen(
        [*CLI, "simulator", "--protocol", protocol, "--port", str(port), "--account", ":".join(ACCOUNT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with __import__("socket").create_connection(("127.0.0.1", port), timeout=0.5):
                return sim, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{protocol} simulator did not start")


def raw_link_rate(protocol: str, port: int, total: int) -> float:
    """Messages/s submitted and receipted by one connector, no database."""
    from smsplatform.connectors.config import ConnectorConfig
    from smsplatform.connectors.model import OutboundSms
    from smsplatform.connectors.registry import create_connector

    async def run() -> float:
        connector = create_connector(
            ConnectorConfig(
                name="raw",
                protocol=protocol,
                host="127.0.0.1",
                port=port,
                system_id=ACCOUNT[0],
                password=ACCOUNT[1],
            )
        )
        receipts = 0
        finished = asyncio.Event()

        def on_report(_: object) -> None:
            nonlocal receipts
            receipts += 1
            if receipts >= total:
                finished.set()

        connector.on_report = on_report
        await connector.start()
        assert await connector.wait_bound(10), "raw link did not bind"
        queue = iter(range(total))

        async def worker() -> None:
            for n in queue:
                await connector.submit(
                    OutboundSms(key=n, source="1069000", destination=f"139{n:08d}", text="您的验证码是123456")
                )

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(64)))
        await asyncio.wait_for(finished.wait(), 120)
        elapsed = time.perf_counter() - start
        await connector.stop()
        return total / elapsed

    import uvloop

    return uvloop.run(run())


def platform_env(data_dir: Path) -> dict[str, str]:
    """`serve`'s environment for a benchmark: its own data, no built-in simulators, no caller limits."""
    return {
        **os.environ,
        "SMSPLATFORM_DATA_DIR": str(data_dir),
        "SMSPLATFORM_AUTO_APPROVE": "1",
        "SMSPLATFORM_SIMULATORS": "0",
        "SMSPLATFORM_CALLBACK_ALLOW_PRIVATE": "1",
        "SMSPLATFORM_IP_LIMIT_PER_SECOND": "0",
        "SMSPLATFORM_IP_LIMIT_PER_MINUTE": "0",
        "SMSPLATFORM_LOG_LEVEL": "warning",
        "SMSPLATFORM_ADMIN_PORT": str(free_port()),
    }


def add_upstream_and_customer(env: dict[str, str], protocol: str, sim_port: int, total: int) -> str:
    """A connector to the simulator and a customer with room for `total` messages twice; its appkey."""

    def cli(*args: str) -> str:
        return subprocess.run(
            [*CLI, *args], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    cli(
        "connector", "add", "upstream", "--protocol", protocol, "--host", "127.0.0.1",
        "--port", str(sim_port), "--system-id", ACCOUNT[0], "--password", ACCOUNT[1],
        "--src-number", "1069000", "--carriers", "mobile,unicom,telecom,broadnet",
    )  # fmt: skip
    return cli("customer", "create", "--name", "bench", "--totalnum", str(total * 2))


def wait_healthy(url: str, process: subprocess.Popen[bytes], within: float = 30) -> None:
    """Until `url` (a node's /healthz) answers 200; the process is killed if it does not `within` s."""
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
        time.sleep(0.2)


def onboard(base: str, appkey: str, total: int, receiver_port: int) -> None:
    """A sub-account reporting to the receiver, and its marketing template."""
    account = httpx.post(
        f"{base}/sms/addaccount",
        data={
            "appkey": appkey,
            "company": "bench",
            "signature": SIGNATURE,
            "totalnum": str(total * 2),
            "statusurl": f"http://127.0.0.1:{receiver_port}/status",
        },
    ).json()["result"]
    httpx.post(
        f"{base}/sms/addtemplate",
        data={
            "appkey": appkey,
            "accountid": account["accountid"],
            "name": "promo",
            "content": "会员日全场@折起，回TD退订",
            "ismarket": "1",
        },
    )


def start_platform(
    env: dict[str, str], port: int, protocol: str, sim_port: int, total: int, receiver_port: int
) -> tuple[subprocess.Popen[bytes], str]:
    """A connector to the simulator, a customer, `serve` up, a sub-account reporting to the receiver and
    its marketing template; returns `serve` and the customer's appkey."""
    base = f"http://127.0.0.1:{port}"
    appkey = add_upstream_and_customer(env, protocol, sim_port, total)
    server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env)
    wait_healthy(f"{base}/healthz", server)
    onboard(base, appkey, total, receiver_port)
    return server, appkey


def send_batches(base: str, appkey: str, sends: int, per_send: int) -> None:
    """`sends` marketing sends of `per_send` distinct numbers each, one after the other."""
    with httpx.Client(timeout=60) as client:
        for n in range(sends):
            reply = client.post(
                f"{base}/sms/send",
                data={
                    "appkey": appkey,
                    "mobile": ",".join(
                        f"{PREFIXES[n % len(PREFIXES)]}{n // len(PREFIXES)}{i:07d}" for i in range(per_send)
                    ),
                    "content": f"{SIGNATURE}会员日全场8折起，回TD退订",
                },
            ).json()
            assert reply["status"] == "0" and reply["result"]["count"] == str(per_send), reply


def platform_rate(protocol: str, sim_port: int, sim_pid: int, sends: int, per_send: int) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix="smsbench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = platform_env(data_dir)
    total = sends * per_send
    counter = ReportCounter(target=total)
    counter.start()
    server, appkey = start_platform(env, port, protocol, sim_port, total, counter.port)
    try:
        time.sleep(2)  # the link binds
        workers = children(server.pid)
        cpu_before = {
            "server": cpu_seconds(server.pid),
            "workers": sum(map(cpu_seconds, workers)),
            "simulator": cpu_seconds(sim_pid),
            "bench": time.process_time(),
        }
        start = time.perf_counter()
        send_batches(base, appkey, sends, per_send)
        accepted = time.perf_counter() - start
        if not counter.done.wait(600):
            raise SystemExit(f"only {counter.count} of {total} reports arrived")
        elapsed = counter.last_at - start
        cpu = {
            "server": cpu_seconds(server.pid) - cpu_before["server"],
            "workers": sum(map(cpu_seconds, workers)) - cpu_before["workers"],
            "simulator": cpu_seconds(sim_pid) - cpu_before["simulator"],
            "bench": time.process_time() - cpu_before["bench"],
        }
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "rate": total / elapsed,
        "elapsed": elapsed,
        "accepted": accepted,
        **{f"cpu_{k}": v for k, v in cpu.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocols", default="smpp,cmpp")
    parser.add_argument("--sends", type=int, default=20)
    parser.add_argument("--per-send", type=int, default=5000)
    parser.add_argument("--raw", type=int, default=50_000, help="messages for the raw link rate")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    for protocol in args.protocols.split(","):
        sim, port = start_simulator(protocol)
        try:
            raw = raw_link_rate(protocol, port, args.raw)
            platform = platform_rate(protocol, port, sim.pid, args.sends, args.per_send)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
        results[protocol] = {"raw": raw, **platform}

    total = args.sends * args.per_send
    print(f"machine: {os.cpu_count()} cores; embedded mode (SQLite WAL); simulator in its own process")
    print(
        f"{total:,} messages ({args.sends} marketing sends of {args.per_send:,}), first request → last report"
    )
    for protocol, r in results.items():
        wall = r["elapsed"]
        print(
            f"{protocol:5} platform {r['rate']:8.0f} msg/s ({wall:5.1f} s; "
            f"all accepted after {r['accepted']:4.1f} s)"
            f"   raw link {r['raw']:8.0f} msg/s   platform/raw {r['rate'] / r['raw']:.2f}"
        )
        print(
            f"      CPU: serve {r['cpu_server']:5.1f} s ({r['cpu_server'] / wall:.0%} of a core), "
            f"dispatch workers {r['cpu_workers']:5.1f} s ({r['cpu_workers'] / wall:.0%}), "
            f"simulator {r['cpu_simulator']:5.1f} s ({r['cpu_simulator'] / wall:.0%}), "
            f"receiver+client {r['cpu_bench']:4.1f} s ({r['cpu_bench'] / wall:.0%})"
        )
        platform_cpu = r["cpu_server"] + r["cpu_workers"]
        print(
            f"      CPU per message: platform {platform_cpu / total * 1e6:4.0f} µs, "
            f"simulator {r['cpu_simulator'] / total * 1e6:4.0f} µs"
        )
    if "smpp" in results:
        for protocol, r in results.items():
            if protocol != "smpp":
                print(
                    f"{protocol} / smpp end to end: {r['rate'] / results['smpp']['rate']:.2f} (target ≥ 0.90)"
                )
        print("target ≥ 3,000 msg/s end to end:", "met" if results["smpp"]["rate"] >= 3000 else "NOT met")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
