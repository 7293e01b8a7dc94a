"""Dispatch worker processes: `serve` starts them, restarts one that dies, and they end with `serve`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, platform_env, running, wait_for
from tests.e2e.test_delivery import SIGNATURE, _onboard

pytestmark = pytest.mark.e2e


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def send_and_count_reports(platform: Platform, appkey: str, rec: Receiver, mobiles: list[str]) -> None:
    before = len(rec.items("/status"))
    sent = platform.api(
        "send", appkey=appkey, mobile=",".join(mobiles), content=f"{SIGNATURE}您的验证码是4321，5分钟内有效"
    )
    assert sent["status"] == "0", sent
    wait_for(lambda: len(rec.items("/status")) >= before + len(mobiles), 30, "every status report")


def test_a_worker_that_dies_is_started_again_and_delivery_goes_on(
    tmp_path: Path, callbacks: Receiver
) -> None:
    with running(Platform(data_dir=tmp_path, env=platform_env(dispatch_workers="2"))) as platform:
        assert platform.process is not None
        workers = children(platform.process.pid)
        assert len(workers) == 2
        appkey, _ = _onboard(platform, callbacks)
        # Mobile (CMPP), Unicom (SGIP: the SMSC connects back to the workers' shared port), Telecom (SMGP).
        send_and_count_reports(platform, appkey, callbacks, ["13800000001", "13000000002", "13300000003"])

        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(children(platform.process.pid) - {victim}) == 2, 15, "a new worker")
        # Last digit 1: the simulator reports DELIVRD.
        send_and_count_reports(platform, appkey, callbacks, [f"138000{i:04d}1" for i in range(20)])
        assert {r["status"] for r in callbacks.items("/status")} == {"DELIVRD"}


def test_workers_stop_by_themselves_when_serve_is_killed(tmp_path: Path) -> None:
    platform = Platform(data_dir=tmp_path, env=platform_env(dispatch_workers="2"))
    platform.start()
    assert platform.process is not None
    workers = children(platform.process.pid)
    assert len(workers) == 2
    platform.process.send_signal(signal.SIGKILL)  # serve alone: its workers see their pipe end
    platform.process.wait(timeout=10)
    wait_for(lambda: not any(alive(pid) for pid in workers), 30, "the workers to stop")


def test_ctrl_c_stops_serve_and_its_workers_together(tmp_path: Path) -> None:
    platform = Platform(data_dir=tmp_path, env=platform_env(dispatch_workers="2", log_level="info"))
    platform.start()
    assert platform.process is not None and platform.log_path is not None
    workers = children(platform.process.pid)
    assert len(workers) == 2
    os.killpg(platform.process.pid, signal.SIGINT)  # what a terminal does: the whole group
    platform.process.wait(timeout=60)
    wait_for(lambda: not any(alive(pid) for pid in workers), 30, "the workers to stop")
    log = platform.log_path.read_text()
    assert "exited with" not in log and "again in" not in log, log  # no worker taken for dead
