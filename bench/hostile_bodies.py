"""Hostile bodies against the customer API: what one costs the server, and what two clients sending
them in a loop cost everyone else.

    .venv/bin/python bench/hostile_bodies.py [--duration 10] [--connections 64] [--hostile-clients 2]

Starts `smsplatform serve` (role api, SQLite) on a free port with a fresh data directory, as
`bench/api_send.py` does, and measures in the same run:
- the server's CPU time (from /proc) per hostile body: 2 MiB of `%`, of `&`, a multipart body of
  ~45,000 tiny parts, 2 MiB of nested JSON; each POSTed to `send` without an appkey and with an unknown
  one (all answered 101), beside the CPU time of a small request answered 101;
- the p99 latency of 64 normal clients (`send`, one number, via wrk) alone (the baseline), then while
  `--hostile-clients` clients send those bodies back to back; the ratio of the two p99s.
Targets: under 20 ms of CPU per hostile body; p99 with the hostile clients within 2x of the baseline.
Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: bench/ is a package of the repository

from bench.api_send import SEND_LUA, SMS, run_cli, server_env, wait_ready, wrk  # noqa: E402

BODY_SIZE = 2 * 1024 * 1024 - 1024  # under the default max_body_bytes (2 MiB)
PART = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"


def hostile_bodies() -> dict[str, tuple[bytes, str]]:
    """Each kind of body: its bytes and its Content-Type."""
    return {
        "2 MiB of %": (b"%" * BODY_SIZE, "application/x-www-form-urlencoded"),
        "2 MiB of &": (b"&" * BODY_SIZE, "application/x-www-form-urlencoded"),
        "multipart, tiny parts": (
            PART * ((BODY_SIZE - 8) // len(PART)) + b"--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
        "nested JSON": (b'{"a":' * (BODY_SIZE // 5), "application/json"),
    }


def post(path: str, body: bytes, content_type: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def requests_of(bodies: dict[str, tuple[bytes, str]]) -> dict[str, list[bytes]]:
    """Each body twice: without an appkey, and with an unknown one in the query."""
    return {
        kind: [post("/sms/send", body, ctype), post("/sms/send?appkey=" + "0" * 32, body, ctype)]
        for kind, (body, ctype) in bodies.items()
    }


def read_answer(sock: socket.socket, reader: object) -> bytes:
    """The body of one answer (HTTP/1.1 with Content-Length) from the connection's reader."""
    assert hasattr(reader, "readline") and hasattr(reader, "read")
    status = reader.readline()
    if not status:
        raise ConnectionError("closed")
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body: bytes = reader.read(length)
    return body


class HostileClient(threading.Thread):
    """Sends hostile bodies back to back on one kept-alive connection until stopped."""

    def __init__(self, port: int, requests: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.requests = requests
        self.stop = threading.Event()
        self.sent = 0
        self.not_101 = 0

    def run(self) -> None:
        while not self.stop.is_set():
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
                reader = sock.makefile("rb")
                try:
                    while not self.stop.is_set():
                        sock.sendall(self.requests[self.sent % len(self.requests)])
                        answer = read_answer(sock, reader)
                        self.sent += 1
                        self.not_101 += b'"status":"101"' not in answer
                except (ConnectionError, OSError):
                    continue


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (from /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(pid: int, port: int, request: bytes, count: int) -> tuple[float, int]:
    """The server's CPU milliseconds per request, over `count` sent one after another; and how many
    were not answered 101."""
    not_101 = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        reader = sock.makefile("rb")
        sock.sendall(request)  # warm up
        read_answer(sock, reader)
        before = cpu_seconds(pid)
        for _ in range(count):
            sock.sendall(request)
            not_101 += b'"status":"101"' not in read_answer(sock, reader)
        spent = cpu_seconds(pid) - before
    return spent * 1000 / count, not_101


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--hostile-clients", type=int, default=2)
    parser.add_argument("--samples", type=int, default=100, help="hostile bodies of each kind timed for CPU")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk: apt-get install wrk")

    env, port = server_env("api")
    base = f"http://127.0.0.1:{port}"
    appkey = run_cli(env, "customer", "create", "--name", "bench", "--totalnum", "1000000000")
    server = subprocess.Popen([*SMS, "serve", "--port", str(port)], env=env)
    requests = requests_of(hostile_bodies())
    try:
        wait_ready(base)
        account = httpx.get(
            f"{base}/sms/addaccount",
            params={"appkey": appkey, "company": "Bench", "signature": "【压测】", "totalnum": "900000000"},
        ).json()["result"]
        reply = httpx.get(
            f"{base}/sms/addtemplate",
            params={
                "appkey": appkey,
                "accountid": account["accountid"],
                "name": "notice",
                "content": "您的订单@已发货",
                "ismarket": "0",
            },
        ).json()
        assert reply["result"]["status"] == "1", reply
        time.sleep(1)

        small = post("/sms/send", b"mobile=13800138000&content=x", "application/x-www-form-urlencoded")
        small_cpu, _ = cpu_per_request(server.pid, port, small, args.samples * 4)
        costs = {}
        for kind, variants in requests.items():
            per_variant = [cpu_per_request(server.pid, port, r, args.samples // 2) for r in variants]
            costs[kind] = (
                sum(ms for ms, _ in per_variant) / len(per_variant),
                sum(bad for _, bad in per_variant),
            )

        content = httpx.URL("", params={"c": "【压测】您的订单A1234已发货"}).query.decode()[2:]
        script = SEND_LUA.replace("%s&mobile", f"{appkey}&mobile").replace("content=%s", f"content={content}")
        wrk(base, 2, args.connections, script)  # warm up
        alone = wrk(base, args.duration, args.connections, script)

        every_request = [r for variants in requests.values() for r in variants]
        clients = [
            HostileClient(port, every_request[i:] + every_request[:i]) for i in range(args.hostile_clients)
        ]
        for client in clients:
            client.start()
        time.sleep(1)
        beside = wrk(base, args.duration, args.connections, script)
        for client in clients:
            client.stop.set()
        for client in clients:
            client.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(env["SMSPLATFORM_DATA_DIR"], ignore_errors=True)

    print(f"machine: {os.cpu_count()} cores, {sys.platform}; serve, role api (SQLite WAL)")
    print(f"server CPU per request (mean of {args.samples}, without an appkey and with an unknown one):")
    print(f"  {'small form body, no appkey':34} {small_cpu:7.2f} ms")
    for kind, (ms, bad) in costs.items():
        note = "" if not bad else f"   ({bad} not answered 101!)"
        print(f"  {kind + f' ({len(requests[kind][0]) // 1024} KiB)':34} {ms:7.2f} ms{note}")
    hostile_sent = sum(c.sent for c in clients)
    hostile_wrong = sum(c.not_101 for c in clients)
    print(f"wrk -c {args.connections}, send with 1 number, {args.duration} s:")
    print(f"  alone                              {alone['rps']:7.0f} req/s   p99 {alone['p99']:7.2f} ms")
    print(
        f"  beside {args.hostile_clients} hostile clients           {beside['rps']:7.0f} req/s   "
        f"p99 {beside['p99']:7.2f} ms   ({hostile_sent} hostile bodies answered, {hostile_wrong} not 101)"
    )
    ratio = beside["p99"] / alone["p99"]
    print(f"  p99 ratio                          {ratio:7.2f}")
    worst = max(ms for ms, _ in costs.values())
    met = worst < 20 and ratio <= 2
    print("targets (< 20 ms CPU per hostile body, p99 within 2x):", "met" if met else "NOT met")


if __name__ == "__main__":
    main()
