"""No loss, bounded duplicates: SIGKILL of the server, of one dispatch worker, a link dropped mid-window.

The simulator runs in its own process, so it keeps its record of what it received across the
platform's restart. Every accepted message must reach it, and every message ends with exactly one
status report at the customer's receiver (a repeated delivery of the same report, told apart by its
`reportid`, is allowed: the customer acknowledged nothing it did not get).

A message may reach the SMSC twice only when our submit was on the wire without an answer at the
fault: at most the submits that filled the links' windows then (`WINDOW` for each dispatch worker's
link), whatever the number of messages claimed. The SMSC answers slowly here, so that the windows are
full at the fault and the bound is tight. Each duplicate is also counted in `maybe_sent`, which is the
operator's figure, not the test's allowance.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, Simulator, platform_env, running, wait_for

pytestmark = pytest.mark.e2e

SIGNATURE = "【进制数据】"
PROMO = "会员日全场@折起，回TD退订"
BATCHES = 4
# 8,000 messages: more than the two workers' windows by far, so that thousands are claimed and not yet
# sent at each fault (each worker claims up to 4,000), which is what the bounds below are about.
PER_BATCH = 2000
TOTAL = BATCHES * PER_BATCH
WORKERS = 2  # dispatch processes, each with its own session to the SMSC
WINDOW = 16  # unanswered submits per session
ANSWER_DELAY = 0.02  # seconds the SMSC takes to answer a submit: the windows stay full


def _wire(tmp_path: Path, simulator: Simulator) -> Platform:
    platform = Platform(
        data_dir=tmp_path,
        env=platform_env(simulators="0", callback_retry_delays="1", dispatch_workers=str(WORKERS)),
    )
    platform.cli(
        "connector", "add", "upstream", "--protocol", "smpp", "--host", "127.0.0.1",
        "--port", str(simulator.port), "--system-id", "901234", "--password", "password",
        "--src-number", "1069000", "--window", str(WINDOW),
        "--carriers", "mobile,unicom,telecom,broadnet",
    )  # fmt: skip
    return platform


def _onboard(platform: Platform, rec: Receiver) -> str:
    appkey = platform.cli("customer", "create", "--name", "e2e", "--totalnum", str(TOTAL * 2))
    account = platform.api(
        "addaccount", appkey=appkey, company="进制数据", signature=SIGNATURE, totalnum=str(TOTAL * 2),
        statusurl=rec.url("/status"),
    )  # fmt: skip
    assert account["status"] == "0", account
    added = platform.api(
        "addtemplate", appkey=appkey, accountid=account["result"]["accountid"], name="promo", content=PROMO,
        ismarket="1",
    )  # fmt: skip
    assert added["result"]["status"] == "1", added
    return appkey


def _send_all(platform: Platform, appkey: str) -> list[str]:
    mobiles: list[str] = []
    for batch in range(BATCHES):
        numbers = [f"13{batch}{n:08d}" for n in range(PER_BATCH)]
        sent = platform.api(
            "send", appkey=appkey, mobile=",".join(numbers), content=f"{SIGNATURE}会员日全场8折起，回TD退订"
        )
        assert sent["status"] == "0" and sent["result"]["count"] == str(PER_BATCH), sent
        mobiles += numbers
    return mobiles


def _received(simulator: Simulator) -> list[str]:
    destinations: list[str] = []
    while page := simulator.control("received", since=len(destinations), limit=2000):
        destinations += [message["destination"] for message in page]
    return destinations


def _submitted_at_least(simulator: Simulator, share: int) -> None:
    wait_for(lambda: simulator.control("counters")["messages"] >= TOTAL // share, 120, "submits under way")


def _check(platform: Platform, simulator: Simulator, rec: Receiver, mobiles: list[str], bound: int) -> int:
    """Every message reached the SMSC and got one report; at most `bound` reached it twice. Returns
    the duplicates."""
    wait_for(
        lambda: len({r["reportid"] for r in rec.items("/status")}) >= TOTAL, 240, "a report for every message"
    )
    reports = rec.items("/status")
    by_id: dict[str, set[tuple[str, str]]] = {}
    for report in reports:
        by_id.setdefault(report["reportid"], set()).add((report["mobile"], report["status"]))
    assert len(by_id) == TOTAL
    assert all(len(seen) == 1 for seen in by_id.values()), "a message got two different reports"
    assert sorted(next(iter(seen))[0] for seen in by_id.values()) == sorted(mobiles)

    received = Counter(_received(simulator))
    assert set(received) == set(mobiles), "an accepted message never reached the SMSC"
    duplicates = sum(count - 1 for count in received.values())
    with sqlite3.connect(platform.data_dir / "smsplatform.db") as db:
        maybe_sent = db.execute("SELECT COALESCE(SUM(maybe_sent), 0) FROM messages").fetchone()[0]
        states = dict(db.execute("SELECT state, COUNT(*) FROM messages GROUP BY state").fetchall())
    assert sum(states.values()) == TOTAL and not {"queued", "submitting", "submitted"} & set(states), states
    assert duplicates <= bound, f"{duplicates} messages reached the SMSC twice; the windows held {bound}"
    assert duplicates <= maybe_sent, f"{duplicates} duplicates, only {maybe_sent} counted as possibly sent"
    return duplicates


def _dispatch_workers(serve: int) -> list[int]:
    """The pids of `serve`'s dispatch worker processes."""
    workers = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == serve and b"smsplatform.workers" in command:
            workers.append(int(entry))
    return sorted(workers)


def test_sigkill_in_the_middle_of_a_batch_loses_nothing_and_resends_only_the_windows(
    tmp_path: Path, simulator: Simulator, callbacks: Receiver
) -> None:
    platform = _wire(tmp_path, simulator)
    platform.start()
    try:
        appkey = _onboard(platform, callbacks)
        simulator.control("slow_responses", delay=ANSWER_DELAY)
        mobiles = _send_all(platform, appkey)
        _submitted_at_least(simulator, 4)
        platform.kill()  # serve and both workers: thousands of claims in flight, two windows on the wire
        assert simulator.control("counters")["messages"] < TOTAL, "the kill came too late to test anything"
        simulator.control("clear_faults")
        platform.start()
        _check(platform, simulator, callbacks, mobiles, bound=WORKERS * WINDOW)
    finally:
        platform.stop()


def test_sigkill_of_one_dispatch_worker_resends_only_its_window(
    tmp_path: Path, simulator: Simulator, callbacks: Receiver
) -> None:
    with running(_wire(tmp_path, simulator)) as platform:
        assert platform.process is not None
        wait_for(lambda: len(_dispatch_workers(platform.process.pid)) == WORKERS, 30, "the workers")
        appkey = _onboard(platform, callbacks)
        simulator.control("slow_responses", delay=ANSWER_DELAY)
        mobiles = _send_all(platform, appkey)
        _submitted_at_least(simulator, 4)
        victim = _dispatch_workers(platform.process.pid)[0]
        os.kill(victim, signal.SIGKILL)  # serve starts it again; its claims come back by its journal
        assert simulator.control("counters")["messages"] < TOTAL, "the kill came too late to test anything"
        simulator.control("clear_faults")
        _check(platform, simulator, callbacks, mobiles, bound=WINDOW)
        assert victim not in _dispatch_workers(platform.process.pid)


def test_links_dropped_mid_window_lose_nothing_and_resend_only_the_windows(
    tmp_path: Path, simulator: Simulator, callbacks: Receiver
) -> None:
    with running(_wire(tmp_path, simulator)) as platform:
        appkey = _onboard(platform, callbacks)
        simulator.control("slow_responses", delay=ANSWER_DELAY)
        mobiles = _send_all(platform, appkey)
        drops = (4, 2)
        for share in drops:
            _submitted_at_least(simulator, share)
            assert simulator.control("drop_connections") >= 1
        simulator.control("clear_faults")
        _check(platform, simulator, callbacks, mobiles, bound=len(drops) * WORKERS * WINDOW)
