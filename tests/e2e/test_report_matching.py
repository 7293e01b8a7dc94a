"""Every report to its own message: two SMSCs, each a process of its own, that issue the same message
ids and send each status report before they answer its submit.

China Mobile numbers go over "alpha", China Unicom numbers over "beta"; both simulators count their
ids from 1 and decide outcomes by the number's last digit, from disjoint sets of states, so a report
that reached another connector's message would show in its status. The messages go in three rounds:
alpha's first (final before beta begins, so beta's reports name ids that alpha's messages already
carry), then beta's, then both at once. `serve` runs its dispatch workers, each with its own binds
to both simulators, and acknowledges receipts once journaled.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsplatform.simulator.rules import parse_outcomes
from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, Simulator, platform_env, running, wait_for

pytestmark = pytest.mark.e2e

SIGNATURE = "【进制数据】"
TEMPLATE = "您的订单@已发货"
PER_ROUND = 100  # messages per connector and round
OUTCOMES = {"alpha": "last-digit:0-4=DELIVRD,5-9=UNDELIV", "beta": "last-digit:0-4=EXPIRED,5-9=REJECTD"}
SOURCE = {"alpha": "1069000", "beta": "1069001"}
CARRIERS = {"alpha": "mobile", "beta": "unicom,telecom,broadnet"}
PREFIX = {"alpha": "138", "beta": "186"}  # China Mobile, China Unicom


@pytest.fixture
def simulators() -> Iterator[dict[str, Simulator]]:
    started: dict[str, Simulator] = {}
    try:
        for name, outcomes in OUTCOMES.items():
            started[name] = Simulator()
            started[name].start("--first-id", "1", "--reports-first", "--outcomes", outcomes)
        yield started
    finally:
        for simulator in started.values():
            simulator.stop()


def _numbers(connector: str, first: int) -> list[str]:
    return [f"{PREFIX[connector]}002{n:05d}" for n in range(first, first + PER_ROUND)]


def _connector_of(mobile: str) -> str:
    return "alpha" if mobile.startswith(PREFIX["alpha"]) else "beta"


def _received(simulator: Simulator) -> dict[str, tuple[str, ...]]:
    """What the simulator recorded: its message ids by destination."""
    found: dict[str, tuple[str, ...]] = {}
    page: list[dict[str, Any]]
    while page := simulator.control("received", since=len(found), limit=1000):
        found.update((message["destination"], tuple(message["message_ids"])) for message in page)
    return found


def test_two_smscs_with_the_same_ids_that_report_first_each_report_reaches_its_own_message(
    tmp_path: Path, simulators: dict[str, Simulator], callbacks: Receiver
) -> None:
    platform = Platform(data_dir=tmp_path, env=platform_env(simulators="0"))
    for name, simulator in simulators.items():
        platform.cli(
            "connector", "add", name, "--protocol", "smpp", "--host", "127.0.0.1",
            "--port", str(simulator.port), "--system-id", "901234", "--password", "password",
            "--src-number", SOURCE[name], "--carriers", CARRIERS[name],
        )  # fmt: skip
    with running(platform):
        appkey = platform.cli("customer", "create", "--name", "matching", "--totalnum", "10000")
        account = platform.api(
            "addaccount", appkey=appkey, company="进制数据", signature=SIGNATURE, totalnum="10000",
            statusurl=callbacks.url("/status"), replyurl=callbacks.url("/reply"),
        )  # fmt: skip
        accountid = account["result"]["accountid"]
        added = platform.api(
            "addtemplate", appkey=appkey, accountid=accountid, name="order", content=TEMPLATE, ismarket="0"
        )
        assert added["result"]["status"] == "1", added
        sent: list[str] = []

        def send_round(mobiles: list[str]) -> None:
            answer = platform.api(
                "send", appkey=appkey, mobile=",".join(mobiles), content=f"{SIGNATURE}您的订单SF1024已发货"
            )
            assert answer["status"] == "0" and answer["result"]["count"] == str(len(mobiles)), answer
            sent.extend(mobiles)
            wait_for(
                lambda: len({r["reportid"] for r in callbacks.items("/status")}) >= len(sent),
                90,
                f"a report for each of {len(sent)} messages",
            )

        send_round(_numbers("alpha", 0))
        send_round(_numbers("beta", 0))
        send_round(
            [m for pair in zip(_numbers("alpha", 1000), _numbers("beta", 1000), strict=True) for m in pair]
        )

        # Replies find their sub-account by its extension, whichever connector brings them.
        for name, simulator in simulators.items():
            mobile = _numbers(name, 0)[0]
            destination = SOURCE[name] + f"{int(accountid):04d}"
            simulator.control("inject_mo", source=mobile, destination=destination, text=f"收到 {name}")
        wait_for(lambda: len(callbacks.items("/reply")) >= 2, 30, "both replies")

        counters = {name: simulator.control("counters") for name, simulator in simulators.items()}
        received = {name: _received(simulator) for name, simulator in simulators.items()}

    n = len(sent)
    assert n == 4 * PER_ROUND
    # The scenario happened: both SMSCs issued the same ids, and sent every report before its answer.
    alpha_ids = {i for ids in received["alpha"].values() for i in ids}
    beta_ids = {i for ids in received["beta"].values() for i in ids}
    assert len(alpha_ids & beta_ids) == 2 * PER_ROUND
    for name in simulators:
        assert counters[name]["messages"] == counters[name]["responses_after_report"] == 2 * PER_ROUND

    # n reports at the customer's receiver, exactly one per message, each with its own SMSC's decision.
    by_id: dict[str, set[tuple[str, str]]] = {}
    for report in callbacks.items("/status"):
        by_id.setdefault(report["reportid"], set()).add((report["mobile"], report["status"]))
    assert len(by_id) == n
    assert all(len(seen) == 1 for seen in by_id.values()), "a message got two different reports"
    reported = dict(next(iter(seen)) for seen in by_id.values())
    assert sorted(reported) == sorted(sent)
    rules = {name: parse_outcomes(outcomes) for name, outcomes in OUTCOMES.items()}
    wrong = {m: s for m, s in reported.items() if s != rules[_connector_of(m)].outcome(m).stat}
    assert wrong == {}, f"{len(wrong)} messages with a report that was not their own"

    # In the store: each message carries the id its own SMSC gave it; no report is left waiting.
    with sqlite3.connect(platform.data_dir / "smsplatform.db") as db:
        parts = db.execute(
            "SELECT m.mobile, p.connector, p.remote_id FROM message_parts p"
            " JOIN messages m ON m.id = p.message_id"
        ).fetchall()
        kept = db.execute("SELECT COUNT(*) FROM unmatched_receipts").fetchone()[0]
    assert len(parts) == n
    assert all(received[connector][mobile] == (remote_id,) for mobile, connector, remote_id in parts)
    assert all(connector == _connector_of(mobile) for mobile, connector, _ in parts)
    assert kept == 0

    replies = callbacks.items("/reply")
    assert sorted((r["content"], r["accountid"]) for r in replies) == [
        ("收到 alpha", accountid),
        ("收到 beta", accountid),
    ]
