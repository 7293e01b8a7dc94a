"""No loss: accepted messages survive SIGKILL of the server and a link dropped mid-window.

The simulator runs in its own process, so it keeps its record of what it received across the platform's
restart. Every accepted message must reach it; a message may reach it twice only when our submit left
the socket and its answer never came (`maybe_sent`, counted), never by a retry of our own otherwise; and
every message ends with exactly one status report at the customer's receiver (a repeated delivery of the
same report, told apart by its `reportid`, is allowed: the customer acknowledged nothing it did not get).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.receiver import Receiver, receiver
from tests.e2e.support import Platform, Simulator, platform_env, running, wait_for

pytestmark = pytest.mark.e2e

SIGNATURE = "【进制数据】"
PROMO = "会员日全场@折起，回TD退订"
BATCHES = 4
PER_BATCH = 5000
TOTAL = BATCHES * PER_BATCH


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    sim = Simulator()
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def callbacks() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


def _wire(tmp_path: Path, simulator: Simulator) -> Platform:
    platform = Platform(data_dir=tmp_path, env=platform_env(simulators="0", callback_retry_delays="1"))
    platform.cli(
        "connector", "add", "upstream", "--protocol", "smpp", "--host", "127.0.0.1",
        "--port", str(simulator.port), "--system-id", "smsplatform", "--password", "password",
        "--src-number", "1069000",
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


def _check(platform: Platform, simulator: Simulator, rec: Receiver, mobiles: list[str]) -> None:
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
    assert duplicates <= maybe_sent, f"{duplicates} duplicates, only {maybe_sent} possibly-sent resubmits"
    assert sum(states.values()) == TOTAL and not {"queued", "submitting", "submitted"} & set(states), states


def test_sigkill_in_the_middle_of_a_batch_loses_nothing(
    tmp_path: Path, simulator: Simulator, callbacks: Receiver
) -> None:
    platform = _wire(tmp_path, simulator)
    platform.start()
    try:
        appkey = _onboard(platform, callbacks)
        mobiles = _send_all(platform, appkey)
        wait_for(
            lambda: simulator.control("counters")["messages"] >= TOTAL // 4, 120, "a quarter to be submitted"
        )
        platform.kill()
        assert simulator.control("counters")["messages"] < TOTAL, "the kill came too late to test anything"
        platform.start()
        _check(platform, simulator, callbacks, mobiles)
    finally:
        platform.stop()


def test_links_dropped_mid_window_lose_nothing(
    tmp_path: Path, simulator: Simulator, callbacks: Receiver
) -> None:
    with running(_wire(tmp_path, simulator)) as platform:
        appkey = _onboard(platform, callbacks)
        mobiles = _send_all(platform, appkey)
        for fraction in (4, 2):
            wait_for(
                lambda f=fraction: simulator.control("counters")["messages"] >= TOTAL // f,
                120,
                "submits under way",
            )
            assert simulator.control("drop_connections") >= 1
        _check(platform, simulator, callbacks, mobiles)
