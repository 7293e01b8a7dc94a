"""End to end: messages that would never end do end, with their one report at the customer's receiver.

A verification code whose only link is down is not sent once its maximum age passed (a few seconds
here, 10 minutes by default), even when the link comes back; its customer gets an EXPIRED report and
the fee back. A message whose status report never comes ends UNKNOWN after the receipt timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, Simulator, platform_env, running, wait_for

pytestmark = pytest.mark.e2e

SIGNATURE = "【进制数据】"
CODE = "您的验证码是@，5分钟内有效"


def _platform(tmp_path: Path, simulator: Simulator, **settings: str) -> Platform:
    platform = Platform(
        data_dir=tmp_path, env=platform_env(simulators="0", callback_retry_delays="1", **settings)
    )
    platform.cli(
        "connector", "add", "upstream", "--protocol", "smpp", "--host", "127.0.0.1",
        "--port", str(simulator.port), "--system-id", "901234", "--password", "password",
        "--src-number", "1069000", "--carriers", "mobile,unicom,telecom,broadnet",
        "--option", "bind_wait=0.5", "--option", "reconnect_max=0.5",
    )  # fmt: skip
    return platform


def _onboard(platform: Platform, rec: Receiver) -> tuple[str, str]:
    appkey = platform.cli("customer", "create", "--name", "e2e", "--totalnum", "100")
    account = platform.api(
        "addaccount", appkey=appkey, company="进制数据", signature=SIGNATURE, totalnum="100",
        statusurl=rec.url("/status"),
    )  # fmt: skip
    assert account["status"] == "0", account
    accountid = account["result"]["accountid"]
    added = platform.api("addtemplate", appkey=appkey, accountid=accountid, name="code", content=CODE)
    assert added["result"]["status"] == "1", added
    return appkey, accountid


def _usednum(platform: Platform, appkey: str) -> int:
    [account] = platform.api("balance", appkey=appkey)["result"]
    return int(account["usednum"])


def test_a_code_whose_link_is_down_expires_unsent_reported_and_refunded(
    tmp_path: Path, callbacks: Receiver
) -> None:
    simulator = Simulator()  # its port stays closed for now: the link is down
    # One dispatch process: one link, so that once it is bound, nothing waits for another to be.
    platform = _platform(tmp_path, simulator, max_age_verification="4", dispatch_workers="1")
    with running(platform):
        appkey, accountid = _onboard(platform, callbacks)
        sent = platform.api(
            "send", appkey=appkey, mobile="13800000001", content=f"{SIGNATURE}您的验证码是4321，5分钟内有效"
        )
        assert sent["status"] == "0", sent
        msgid = sent["result"]["msgid"]
        assert _usednum(platform, appkey) == 1

        wait_for(lambda: callbacks.items("/status"), 60, "the expiry report")
        [report] = callbacks.items("/status")
        assert (report["msgid"], report["accountid"], report["mobile"]) == (msgid, accountid, "13800000001")
        assert (report["status"], report["success"], report["errcode"]) == ("EXPIRED", "0", "MAXAGE")
        assert _usednum(platform, appkey) == 0  # the fee is back
        [status] = platform.api("status", appkey=appkey, msgid=msgid)["result"]["list"]
        assert (status["state"], status["status"], status["errcode"]) == ("failed", "EXPIRED", "MAXAGE")

        # The link comes up: a new code goes out and is delivered; the expired one never reaches the SMSC.
        simulator.start()
        try:
            wait_for(lambda: simulator.control("counters")["sessions"] >= 1, 60, "the link to bind")
            again = platform.api(
                "send",
                appkey=appkey,
                mobile="13800000002",
                content=f"{SIGNATURE}您的验证码是8765，5分钟内有效",
            )
            assert again["status"] == "0", again
            wait_for(lambda: len(callbacks.items("/status")) >= 2, 60, "the new code's report")
            assert callbacks.items("/status")[1]["status"] == "DELIVRD"
            destinations = [m["destination"] for m in simulator.control("received")]
            assert destinations == ["13800000002"]
            assert _usednum(platform, appkey) == 1
        finally:
            simulator.stop()


def test_a_report_that_never_comes_ends_unknown_with_one_report(tmp_path: Path, callbacks: Receiver) -> None:
    simulator = Simulator()
    simulator.start("--receipt-delay", "3600")  # takes every submit, reports an hour later: too late
    try:
        with running(_platform(tmp_path, simulator, receipt_timeout="2")) as platform:
            appkey, _ = _onboard(platform, callbacks)
            sent = platform.api(
                "send",
                appkey=appkey,
                mobile="13800000001",
                content=f"{SIGNATURE}您的验证码是4321，5分钟内有效",
            )
            assert sent["status"] == "0", sent
            wait_for(lambda: callbacks.items("/status"), 60, "the UNKNOWN report")
            [report] = callbacks.items("/status")
            assert (report["status"], report["success"], report["errcode"]) == ("UNKNOWN", "0", "TIMEOUT")
            assert simulator.control("counters")["messages"] == 1
            assert _usednum(platform, appkey) == 1  # the carrier took it: no refund
            [status] = platform.api("status", appkey=appkey, msgid=sent["result"]["msgid"])["result"]["list"]
            assert (status["state"], status["status"], status["errcode"]) == ("unknown", "UNKNOWN", "TIMEOUT")
    finally:
        simulator.stop()
