"""Running the real platform as a subprocess, and talking to it the way customers and operators do."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from smsplatform.simulator.control import control_request
from tests.waiting import wait_until

CLI = [sys.executable, "-m", "smsplatform.cli"]

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (the built-in simulators' control ports)."""
    for _ in range(200):
        base = free_port()
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                sockets.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in sockets:
                probe.close()
    raise AssertionError(f"no {count} consecutive free ports")


@dataclass
class Platform:
    """One `smsplatform serve` process over a data directory that outlives it (restarts keep data)."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [*CLI, *args, "--data-dir", str(self.data_dir)], env=self.env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise AssertionError(f"smsplatform {' '.join(args)} failed: {done.stderr}")
        return done.stdout.strip()

    def start(self) -> None:
        self.log_path = self.data_dir / f"serve-{time.time_ns()}.log"
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # serve and its dispatch workers: one process group to kill
        )
        process, log_path = self.process, self.log_path

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"serve exited: {log_path.read_text()}")
            try:
                return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, 30, "serve to come up", every=0.1)

    def kill(self) -> None:
        """SIGKILL to serve and its dispatch workers: no shutdown code runs anywhere."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, endpoint: str, **params: str) -> Any:
        reply = httpx.post(f"{self.base}/sms/{endpoint}", data=params, timeout=30)
        reply.raise_for_status()
        return reply.json()


def platform_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSPLATFORM_")}
    env.update(
        {
            "SMSPLATFORM_AUTO_APPROVE": "1",
            "SMSPLATFORM_CALLBACK_ALLOW_PRIVATE": "1",
            "SMSPLATFORM_IP_LIMIT_PER_SECOND": "0",
            "SMSPLATFORM_IP_LIMIT_PER_MINUTE": "0",
            "SMSPLATFORM_SIMULATOR_RECEIPT_DELAY": "0.05",
            "SMSPLATFORM_LOG_LEVEL": "warning",
            "SMSPLATFORM_ADMIN_PORT": str(free_port()),
        }
    )
    env.update({f"SMSPLATFORM_{k.upper()}": v for k, v in settings.items()})
    return env


@contextmanager
def running(platform: Platform) -> Iterator[Platform]:
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


@dataclass
class Simulator:
    """A simulated SMSC in a process of its own (it outlives the platform's restarts)."""

    protocol: str = "smpp"
    port: int = field(default_factory=free_port)
    control_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> None:
        self.process = subprocess.Popen(
            [
                *CLI,
                "simulator",
                "--protocol",
                self.protocol,
                "--port",
                str(self.port),
                "--control-port",
                str(self.control_port),
                "--record",
                "--receipt-delay",
                "0.05",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answering() -> bool:
            try:
                self.control("counters")
            except OSError:
                return False
            return True

        wait_until(answering, 20, "the simulator to come up", every=0.1)

    def control(self, cmd: str, **arguments: Any) -> Any:
        return asyncio.run(control_request("127.0.0.1", self.control_port, cmd, **arguments))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def wait_for(predicate: Callable[[], T], within: float, what: str, every: float = 0.2) -> T:
    """`tests.waiting.wait_until`, polling less often: these conditions ask other processes."""
    return wait_until(predicate, within, what, every=every)
