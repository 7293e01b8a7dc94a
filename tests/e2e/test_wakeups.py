"""End to end, scaled out: the node that accepts a send wakes the node that dispatches it, and that one
wakes the node that posts its report, through PostgreSQL, well within the one-second poll.

Two `serve` processes on one PostgreSQL database: `api,callbacks` and `dispatch` (with a dispatch worker
process of its own, which listens for itself). The submit is seen at an SMSC simulator in a third
process, the report at a receiver in this one: both timed here, outside the platform.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, Simulator, free_port, platform_env, running, wait_for
from tests.waiting import wait_until

# serial: the bounds below are on latency, which other tests running beside this one would stretch.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.serial]

SIGNATURE = "【进制数据】"
CODE = "您的验证码是@，5分钟内有效"
SENDS = 20
# The promise is 50 ms (p99, bench/wakeup_latency.py); this bound leaves room for a loaded CI machine
# and still fails a platform that waits for its one-second poll.
SUBMIT_WITHIN = 0.25
RECEIPT_DELAY = 0.05  # the simulator's, before it sends the report
REPORT_WITHIN = SUBMIT_WITHIN + RECEIPT_DELAY + 0.25


class SimulatorProbe:
    """The simulator's count of messages received, asked over one kept-open control connection (a
    new connection per question would make each look slower than the submit it waits for)."""

    def __init__(self, port: int) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port))
        self._file = self._sock.makefile("rwb")

    def messages(self) -> int:
        self._file.write(b'{"cmd": "counters"}\n')
        self._file.flush()
        answer: dict[str, Any] = json.loads(self._file.readline())
        return int(answer["result"]["messages"])

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def _nodes(tmp_path: Path, postgres_url: str) -> tuple[Platform, Platform]:
    """The API node and the dispatch node, sharing the data directory (the secret key) on this machine."""
    common = {"database_url": postgres_url, "simulators": "0", "callback_retry_delays": "1"}
    api = Platform(data_dir=tmp_path, env=platform_env(role="api,callbacks", node_name="api-1", **common))
    health = free_port()
    dispatch = Platform(
        data_dir=tmp_path,
        port=health,  # its /healthz: the test waits for it as for the API's
        env=platform_env(
            role="dispatch", node_name="dispatch-1", dispatch_workers="1", health_port=str(health), **common
        ),
    )
    return api, dispatch


def _onboard(api: Platform, simulator: Simulator, rec: Receiver) -> str:
    api.cli(
        "connector", "add", "upstream", "--protocol", "smpp", "--host", "127.0.0.1",
        "--port", str(simulator.port), "--system-id", "901234", "--password", "password",
        "--src-number", "1069000", "--carriers", "mobile,unicom,telecom,broadnet",
    )  # fmt: skip
    appkey = api.cli("customer", "create", "--name", "e2e", "--totalnum", "100")
    account = api.api(
        "addaccount", appkey=appkey, company="进制数据", signature=SIGNATURE, totalnum="100",
        statusurl=rec.url("/status"),
    )  # fmt: skip
    assert account["status"] == "0", account
    accountid = account["result"]["accountid"]
    added = api.api("addtemplate", appkey=appkey, accountid=accountid, name="code", content=CODE)
    assert added["result"]["status"] == "1", added
    return appkey


def _send(api: Platform, appkey: str, mobile: str) -> str:
    sent = api.api("send", appkey=appkey, mobile=mobile, content=f"{SIGNATURE}您的验证码是4321，5分钟内有效")
    assert sent["status"] == "0", sent
    return str(sent["result"]["msgid"])


def _timed_send(
    api: Platform, appkey: str, probe: SimulatorProbe, callbacks: Receiver, n: int
) -> tuple[float, float]:
    """Send the `n`th message; seconds from its answer to its submit at the simulator, and to its
    report at the receiver."""
    before = probe.messages()
    _send(api, appkey, f"138{n:08d}")
    answered = time.monotonic()
    wait_until(lambda: probe.messages() > before, 10, f"send {n} at the simulator", every=0.001)
    submitted = time.monotonic() - answered
    wait_until(lambda: len(callbacks.items("/status")) > n, 10, f"report {n} at the receiver", every=0.002)
    return submitted, time.monotonic() - answered


def test_a_send_accepted_on_one_node_is_submitted_and_reported_by_others_at_once(
    tmp_path: Path, postgres_url: str, simulator: Simulator, callbacks: Receiver
) -> None:
    api, dispatch = _nodes(tmp_path, postgres_url)
    with running(api), running(dispatch):
        appkey = _onboard(api, simulator, callbacks)
        probe = SimulatorProbe(simulator.control_port)
        try:
            # The first send finds the link still binding (and may wait for the dispatcher's first poll).
            _send(api, appkey, "13800000000")
            wait_for(lambda: len(callbacks.items("/status")) == 1, 30, "the first report")
            submit_times: list[float] = []
            report_times: list[float] = []
            for n in range(1, SENDS + 1):
                submitted, reported = _timed_send(api, appkey, probe, callbacks, n)
                submit_times.append(submitted)
                report_times.append(reported)
        finally:
            probe.close()
    late = [round(t, 3) for t in submit_times if t > SUBMIT_WITHIN]
    assert not late, f"submits later than {SUBMIT_WITHIN} s after the answer: {late} of {submit_times}"
    late = [round(t, 3) for t in report_times if t > REPORT_WITHIN]
    assert not late, f"reports later than {REPORT_WITHIN} s after the answer: {late} of {report_times}"
