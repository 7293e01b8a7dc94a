"""End-to-end delivery benchmark: a campaign from the first send to the last status report at the customer.

    .venv/bin/python bench/delivery.py [--protocols smpp,cmpp] [--messages 100000,1000000]
                                       [--receiver-ms 0,20] [--per-send 5000]

For each protocol, in the same run:
1. the raw rate of the link alone: a connector submitting to a simulator in another process, no
   database (submits with receipts; the platform's own protocol limit);
2. the platform: `smsplatform serve` (embedded mode, SQLite) wired to that simulator (its own process),
   for each campaign size N and each receiver: N messages as marketing sends of 5,000 numbers, one after
   the other, to a callback receiver in this process that takes `--receiver-ms` per request (keep-alive,
   any number of connections). Printed for each run:
   - messages/s from the first request to the last report received, and against the raw link;
   - the submit rate over time (the simulator's submit counter, sampled);
   - each report's delay from the simulator sending it to the receiver getting it (p50, p99, max, and
     the worst p99 of any 10 s of the run, while submitting and after), matched by number: the simulator
     logs when each receipt left (`log_reports` on its control port), the receiver when each report
     arrived, both on the machine's monotonic clock;
   - the largest backlog of reports owed (sent by the simulator, not yet at the receiver);
   - the CPU each process used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(ROOT / ".venv" / "bin" / "smsplatform")]
ACCOUNT = ("901234", "password")  # short enough for every protocol (CMPP: 6)
SIGNATURE = "【压测】"
# Assigned mobile segments of all carriers (an unassigned one has no carrier, hence no route).
PREFIXES = [
    str(p) for p in (*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, 180, 181, 186, 189)
]
WINDOW_SECONDS = 10.0  # the span of each "throughout the run" percentile
MOBILE = re.compile(rb'"mobile":\s*"(\d+)"')


def free_port() -> int:
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


def mobile_of(n: int) -> str:
    """The campaign's n-th number: distinct for every n below 10^8, on all carriers."""
    return f"{PREFIXES[n % len(PREFIXES)]}{n:08d}"


@dataclass
class ReportReceiver:
    """A customer's status URL: HTTP/1.1 with keep-alive, taking `delay` seconds per request, noting
    when each report arrived and for which number."""

    delay: float = 0.0
    target: int = 0
    port: int = 0
    count: int = 0
    requests: int = 0
    connections: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    times: array[float] = field(default_factory=lambda: array("d"))
    numbers: array[int] = field(default_factory=lambda: array("Q"))
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def last_at(self) -> float:
        return self.times[-1] if self.times else 0.0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests += 1
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                try:
                    if self.delay:
                        await asyncio.sleep(self.delay)  # the customer's endpoint at work
                finally:
                    self.in_flight -= 1
                got = MOBILE.findall(body)
                now = time.monotonic()
                self.numbers.extend(int(number) for number in got)
                self.times.extend([now] * len(got))
                self.count += len(got)
                if self.count >= self.target:
                    self.done.set()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            async def main() -> None:
                server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await server.serve_forever()

            asyncio.run(main())

        threading.Thread(target=run, daemon=True).start()
        ready.wait()


class Control:
    """A kept-open connection to a simulator's control port (one JSON line each way)."""

    def __init__(self, port: int) -> None:
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self._lines = self._socket.makefile("rb")

    def __call__(self, cmd: str, **arguments: Any) -> Any:
        self._socket.sendall(json.dumps({"cmd": cmd, **arguments}).encode() + b"\n")
        answer = json.loads(self._lines.readline())
        if not answer["ok"]:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def close(self) -> None:
        self._lines.close()
        self._socket.close()


@dataclass
class Sample:
    at: float
    submits: int
    reports_sent: int
    reports_received: int


def start_simulator(protocol: str) -> tuple[subprocess.Popen[bytes], int, int]:
    port, control_port = free_port(), free_port()
    command = [*CLI, "simulator", "--protocol", protocol, "--port", str(port)]
    command += ["--control-port", str(control_port), "--account", ":".join(ACCOUNT)]
    sim = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", control_port), timeout=0.5):
                return sim, port, control_port
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


def send_campaign(base: str, appkey: str, total: int, per_send: int) -> None:
    """`total` messages as marketing sends of `per_send` distinct numbers each, one after the other."""
    with httpx.Client(timeout=60) as client:
        for first in range(0, total, per_send):
            count = min(per_send, total - first)
            reply = client.post(
                f"{base}/sms/send",
                data={
                    "appkey": appkey,
                    "mobile": ",".join(mobile_of(n) for n in range(first, first + count)),
                    "content": f"{SIGNATURE}会员日全场8折起，回TD退订",
                },
            ).json()
            assert reply["status"] == "0" and reply["result"]["count"] == str(count), reply


def wait_bound(server: subprocess.Popen[bytes], control: Control, within: float = 60) -> list[int]:
    """Until every dispatch worker of `server` has bound to the simulator; the workers' process ids.
    (The simulator's sessions are counted from before: an earlier run's links have closed.)"""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        workers = children(server.pid)
        if workers and control("counters")["sessions"] >= len(workers):
            return workers
        time.sleep(0.2)
    raise SystemExit("the platform's links did not bind")


def sample_until(
    stop: threading.Event, control: Control, receiver: ReportReceiver, every: float, into: list[Sample]
) -> None:
    while not stop.wait(every):
        counters = control("counters")
        into.append(Sample(time.monotonic(), counters["submits"], counters["receipts_sent"], receiver.count))


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Delays:
    p50: float
    p99: float
    max: float
    worst_window_p99_submitting: float
    worst_window_p99_after: float
    unmatched: int


def report_delays(sent_log: Path, receiver: ReportReceiver, last_submit_at: float) -> Delays:
    """Each report's delay from the simulator to the receiver, matched by number (a number's first
    report sent; a resent report counts from its first sending, as the customer waits from then)."""
    from smsplatform.simulator.report_log import read_report_log

    log = read_report_log(sent_log)
    sent_at: dict[int, float] = {}
    for number, at in zip(log.numbers, log.times, strict=True):
        sent_at.setdefault(number, at)
    delays: list[float] = []
    windows: dict[tuple[bool, int], list[float]] = {}
    seen: set[int] = set()
    unmatched = 0
    start = min(sent_at.values(), default=0.0)
    for number, got in zip(receiver.numbers, receiver.times, strict=True):
        if number in seen:
            continue  # a duplicate report: the first one is what the customer waited for
        seen.add(number)
        if number not in sent_at:
            unmatched += 1
            continue
        at = sent_at[number]
        delay = got - at
        delays.append(delay)
        windows.setdefault((at <= last_submit_at, int((at - start) // WINDOW_SECONDS)), []).append(delay)
    delays.sort()
    worst = {True: 0.0, False: 0.0}
    for (submitting, _), values in windows.items():
        values.sort()
        worst[submitting] = max(worst[submitting], percentile(values, 0.99))
    return Delays(
        p50=percentile(delays, 0.50),
        p99=percentile(delays, 0.99),
        max=delays[-1] if delays else float("nan"),
        worst_window_p99_submitting=worst[True],
        worst_window_p99_after=worst[False],
        unmatched=unmatched,
    )


def platform_run(
    protocol: str,
    sim_port: int,
    sim_pid: int,
    control: Control,
    total: int,
    per_send: int,
    receiver_ms: float,
) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="smsbench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = platform_env(data_dir)
    receiver = ReportReceiver(delay=receiver_ms / 1000, target=total)
    receiver.start()
    server, appkey = start_platform(env, port, protocol, sim_port, total, receiver.port)
    samples: list[Sample] = []
    stop_sampling = threading.Event()
    try:
        workers = wait_bound(server, control)
        cpu_before = {
            "server": cpu_seconds(server.pid),
            "workers": sum(map(cpu_seconds, workers)),
            "simulator": cpu_seconds(sim_pid),
            "bench": time.process_time(),
        }
        control("log_reports")
        counters = control("counters")
        submits_before, reports_before = counters["submits"], counters["receipts_sent"]
        sampler = threading.Thread(
            target=sample_until, args=(stop_sampling, control, receiver, 0.25, samples), daemon=True
        )
        start = time.monotonic()
        samples.append(Sample(start, submits_before, reports_before, 0))
        sampler.start()
        send_campaign(base, appkey, total, per_send)
        accepted = time.monotonic() - start
        if not receiver.done.wait(1800):
            raise SystemExit(f"only {receiver.count} of {total} reports arrived")
        elapsed = receiver.last_at - start
        stop_sampling.set()
        sampler.join()
        cpu = {
            "server": cpu_seconds(server.pid) - cpu_before["server"],
            "workers": sum(map(cpu_seconds, workers)) - cpu_before["workers"],
            "simulator": cpu_seconds(sim_pid) - cpu_before["simulator"],
            "bench": time.process_time() - cpu_before["bench"],
        }
        sent_log = data_dir / "reports-sent.log"
        control("write_report_log", path=str(sent_log))
        last_submit_at = next(s.at for s in samples if s.submits - submits_before >= total)
        delays = report_delays(sent_log, receiver, last_submit_at)
    finally:
        stop_sampling.set()
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "rate": total / elapsed,
        "elapsed": elapsed,
        "accepted": accepted,
        "last_submit": last_submit_at - start,
        "submit_rates": submit_rates(samples, submits_before, start, last_submit_at),
        "backlog": max(s.reports_sent - reports_before - s.reports_received for s in samples),
        "delays": delays,
        "receiver": receiver,
        **{f"cpu_{k}": v for k, v in cpu.items()},
    }


def submit_rates(samples: list[Sample], base: int, start: float, until: float) -> list[float]:
    """Submits a second in each tenth of the time until the last submit (at least 1 s each)."""
    span = max(until - start, 1.0)
    step = max(span / 10, 1.0)
    rates = []
    edge = start
    while edge < until:
        inside = [s for s in samples if edge <= s.at <= edge + step]
        if len(inside) >= 2:
            rates.append((inside[-1].submits - inside[0].submits) / (inside[-1].at - inside[0].at))
        edge += step
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--protocols", default="smpp,cmpp")
    parser.add_argument("--messages", default="100000", help="campaign sizes, comma-separated")
    parser.add_argument("--per-send", type=int, default=5000)
    parser.add_argument(
        "--receiver-ms", default="0", help="ms the customer's receiver takes per request, comma-separated"
    )
    parser.add_argument("--raw", type=int, default=50_000, help="messages for the raw link rate")
    args = parser.parse_args()
    sizes = [int(n) for n in args.messages.split(",")]
    receivers = [float(ms) for ms in args.receiver_ms.split(",")]
    results: dict[tuple[str, int, float], dict[str, Any]] = {}
    raws: dict[str, float] = {}
    for protocol in args.protocols.split(","):
        sim, port, control_port = start_simulator(protocol)
        control = Control(control_port)
        try:
            raws[protocol] = raw_link_rate(protocol, port, args.raw)
            for total in sizes:
                for receiver_ms in receivers:
                    results[protocol, total, receiver_ms] = platform_run(
                        protocol, port, sim.pid, control, total, args.per_send, receiver_ms
                    )
        finally:
            control.close()
            sim.terminate()
            sim.wait(timeout=30)

    print(f"machine: {os.cpu_count()} cores; embedded mode (SQLite WAL); simulator in its own process")
    print(
        f"campaigns in marketing sends of {args.per_send:,} numbers; "
        "first request → last report at the receiver"
    )
    for (protocol, total, receiver_ms), r in results.items():
        wall = r["elapsed"]
        d: Delays = r["delays"]
        receiver: ReportReceiver = r["receiver"]
        print(
            f"{protocol:5} {total:>9,} msgs, receiver {receiver_ms:g} ms: {r['rate']:6.0f} msg/s "
            f"({wall:5.1f} s; all accepted after {r['accepted']:5.1f} s, "
            f"last submit at {r['last_submit']:5.1f} s)"
            f"   raw link {raws[protocol]:6.0f} msg/s   platform/raw {r['rate'] / raws[protocol]:.2f}"
        )
        print("      submits/s over time: " + " ".join(f"{rate:.0f}" for rate in r["submit_rates"]))
        print(
            f"      report delay, simulator → receiver: p50 {d.p50 * 1000:.0f} ms, "
            f"p99 {d.p99 * 1000:.0f} ms, "
            f"max {d.max * 1000:.0f} ms; worst p99 of any {WINDOW_SECONDS:g} s: "
            f"{d.worst_window_p99_submitting * 1000:.0f} ms while submitting, "
            f"{d.worst_window_p99_after * 1000:.0f} ms after"
            + (f"; {d.unmatched} reports not matched" if d.unmatched else "")
        )
        print(
            f"      largest backlog of reports owed: {r['backlog']:,}; "
            f"receiver: {receiver.requests:,} requests "
            f"over {receiver.connections} connections, at most {receiver.most_in_flight} at once"
        )
        print(
            f"      CPU: serve {r['cpu_server']:5.1f} s ({r['cpu_server'] / wall:.0%} of a core), "
            f"dispatch workers {r['cpu_workers']:5.1f} s ({r['cpu_workers'] / wall:.0%}), "
            f"simulator {r['cpu_simulator']:5.1f} s ({r['cpu_simulator'] / wall:.0%}), "
            f"receiver+client {r['cpu_bench']:4.1f} s ({r['cpu_bench'] / wall:.0%}); per message: "
            f"platform {(r['cpu_server'] + r['cpu_workers']) / total * 1e6:4.0f} µs"
        )
    for protocol in raws:
        for receiver_ms in receivers:
            runs = {total: results[protocol, total, receiver_ms]["rate"] for total in sizes}
            if len(runs) > 1:
                smallest, largest = min(runs), max(runs)
                print(
                    f"{protocol} receiver {receiver_ms:g} ms: {largest:,} messages at "
                    f"{runs[largest] / runs[smallest]:.2f} of the {smallest:,} rate (target ≥ 0.90)"
                )
    for (protocol, total, receiver_ms), r in results.items():
        if protocol != "smpp" and ("smpp", total, receiver_ms) in results:
            ratio = r["rate"] / results["smpp", total, receiver_ms]["rate"]
            print(
                f"{protocol} / smpp end to end, {total:,} messages, receiver {receiver_ms:g} ms: {ratio:.2f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
