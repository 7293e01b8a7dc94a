"""`serve` starts and stops as an operator and a service manager expect: it says it listens once it
answers, an address in use is one line and status 1 with nothing started, and SIGTERM or Ctrl-C (to
serve, or to its whole process group) stop everything with status 0 and a line saying so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import CLI, free_port, platform_env
from tests.e2e.test_workers import alive, children
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

STARTUP = 60.0  # seconds; two cores shared with other suites
STOP = 60.0


@dataclass
class Serve:
    """`smsplatform serve` in a process group of its own, its stdout and stderr in one log file."""

    process: subprocess.Popen[bytes]
    log_path: Path
    port: int
    admin_port: int

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, text: str, within: float = STARTUP) -> None:
        def written() -> bool:
            log = self.log()
            if text not in log and self.process.poll() is not None:
                pytest.fail(f"serve exited ({self.process.returncode}):\n{log}")
            return text in log

        try:
            wait_until(written, within, f"a {text!r} line", every=0.02)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.log()}") from None

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=STOP)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not stop within {STOP:.0f} s:\n{self.log()}")


@contextmanager
def serve(tmp_path: Path, *args: str, **settings: str) -> Iterator[Serve]:
    port, admin_port = free_port(), free_port()
    env = platform_env(log_level="info", admin_port=str(admin_port), **settings)
    log_path = tmp_path / f"serve-{time.time_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # serve and its workers: one process group, as under a service manager
        )
    try:
        yield Serve(process, log_path, port, admin_port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_listening_is_said_once_the_api_and_the_console_answer(tmp_path: Path) -> None:
    with serve(tmp_path, dispatch_workers="1") as server:
        server.wait_for_line("customer API listening on")
        assert accepts_connections(server.port)
        assert httpx.get(f"http://127.0.0.1:{server.port}/healthz", timeout=5).status_code == 200
        server.wait_for_line("operator console listening on")
        assert accepts_connections(server.admin_port)
        assert httpx.get(f"http://127.0.0.1:{server.admin_port}/login", timeout=5).status_code == 200
        log = server.log()
        assert f"customer API listening on http://127.0.0.1:{server.port} " in log
        assert f"operator console listening on http://127.0.0.1:{server.admin_port}" in log


@pytest.mark.parametrize(
    ("held", "role"),
    [("api", "all"), ("console", "all"), ("console", "dispatch,admin")],
    ids=["api", "console", "headless-console"],
)
def test_an_address_in_use_is_one_line_and_status_1_with_nothing_started(
    tmp_path: Path, held: str, role: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        port = str(taken) if held == "api" else str(free_port())
        admin_port = str(taken) if held == "console" else str(free_port())
        env = platform_env(log_level="info", admin_port=admin_port, dispatch_workers="1", role=role)
        done = subprocess.run(
            [*CLI, "serve", "--port", port, "--data-dir", str(tmp_path / "data")],
            env=env,
            capture_output=True,
            text=True,
            timeout=STARTUP,
        )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"error: cannot listen on 127.0.0.1:{taken}: address already in use"]
    assert not (tmp_path / "data").exists()  # no database made, no worker started


def _group_or_serve(server: Serve, sig: signal.Signals, to_group: bool) -> None:
    if to_group:
        os.killpg(server.process.pid, sig)  # a service manager's stop, or Ctrl-C in a terminal
    else:
        server.process.send_signal(sig)  # kill PID


@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["sigterm", "sigint", "sigterm-to-group"],
)
def test_a_stop_signal_stops_everything_with_status_0(
    tmp_path: Path, sig: signal.Signals, to_group: bool
) -> None:
    with serve(tmp_path, dispatch_workers="2") as server:
        server.wait_for_line("operator console listening on")
        workers = children(server.process.pid)
        assert len(workers) == 2
        _group_or_serve(server, sig, to_group)
        assert server.wait() == 0, server.log()
        log = server.log()
    assert not any(alive(pid) for pid in workers)
    assert log.rstrip().endswith("smsplatform: smsplatform stopped"), log
    # A worker that stopped with serve was not taken for one that died.
    assert "exited with" not in log and "again in" not in log and "stopped with status" not in log, log
    assert "Traceback" not in log and " ERROR " not in log, log


@pytest.mark.parametrize(
    ("role", "ready"),
    [("dispatch", "smsplatform running roles dispatch"), ("dispatch,admin", "operator console listening on")],
)
def test_the_headless_roles_stop_with_status_0_on_a_group_sigterm(
    tmp_path: Path, role: str, ready: str
) -> None:
    with serve(tmp_path, dispatch_workers="2", role=role) as server:
        server.wait_for_line(ready)
        workers = children(server.process.pid)
        assert len(workers) == 2
        os.killpg(server.process.pid, signal.SIGTERM)
        assert server.wait() == 0, server.log()
        log = server.log()
    assert not any(alive(pid) for pid in workers)
    assert log.rstrip().endswith("smsplatform: smsplatform stopped"), log
    assert "exited with" not in log and "again in" not in log and "stopped with status" not in log, log
    assert "Traceback" not in log and " ERROR " not in log, log
