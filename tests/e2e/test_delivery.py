"""End to end: the real server as a subprocess, real SMPP to the simulator, real HTTP callbacks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from smsplatform.simulator.control import control_request
from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, free_port_block, platform_env, running, wait_for

pytestmark = pytest.mark.e2e

SIGNATURE = "【进制数据】"
CODE = "您的验证码是@，5分钟内有效"
PROMO = "会员日全场@折起，回TD退订"
LONG = "尊敬的客户，" + "感谢您一直以来的支持与信任，" * 6 + "您的订单@已发货。"


def _platform(tmp_path: Path, **settings: str) -> Platform:
    return Platform(data_dir=tmp_path, env=platform_env(**settings))


def _onboard(platform: Platform, rec: Receiver) -> tuple[str, str]:
    """A customer with one approved sub-account and two approved templates: (appkey, accountid)."""
    appkey = platform.cli("customer", "create", "--name", "e2e", "--totalnum", "100000")
    account = platform.api(
        "addaccount",
        appkey=appkey,
        company="进制数据",
        signature=SIGNATURE,
        totalnum="100000",
        statusurl=rec.url("/status"),
        replyurl=rec.url("/reply"),
        replyusername="u",
        replypassword="p",
    )
    assert account["status"] == "0", account
    accountid = account["result"]["accountid"]
    for name, content, market in (("code", CODE, "0"), ("promo", PROMO, "1"), ("long", LONG, "0")):
        added = platform.api(
            "addtemplate", appkey=appkey, accountid=accountid, name=name, content=content, ismarket=market
        )
        assert added["result"]["status"] == "1", added
    return appkey, accountid


def _reports_of(rec: Receiver, sent: dict[str, Any]) -> list[dict[str, Any]]:
    """The status reports the receiver acknowledged for one send."""
    return [r for r in rec.items("/status") if r["msgid"] == sent["result"]["msgid"]]


def test_send_reaches_the_simulator_and_reports_come_back_signed(tmp_path: Path, callbacks: Receiver) -> None:
    with running(_platform(tmp_path)) as platform:
        appkey, accountid = _onboard(platform, callbacks)
        # Last digits pick the simulator's outcome: 1 DELIVRD, 7 UNDELIV, 8 EXPIRED.
        sent = platform.api(
            "send",
            appkey=appkey,
            mobile="13800000001,+8613800000007,13800000008",
            content=f"{SIGNATURE}您的验证码是4321，5分钟内有效",
        )
        assert sent["status"] == "0" and sent["result"]["count"] == "3", sent
        msgid = sent["result"]["msgid"]
        wait_for(lambda: len(callbacks.items("/status")) >= 3, 30, "three status reports")

        reports = {r["mobile"]: r for r in callbacks.items("/status")}
        assert {m: r["status"] for m, r in reports.items()} == {
            "13800000001": "DELIVRD",
            "13800000007": "UNDELIV",
            "13800000008": "EXPIRED",
        }
        assert reports["13800000001"]["success"] == "1" and reports["13800000007"]["success"] == "0"
        assert all(r["msgid"] == msgid and r["accountid"] == accountid for r in reports.values())
        for path, headers, raw in callbacks.requests:
            assert headers["x-signature"] == hmac.new(appkey.encode(), raw, hashlib.sha256).hexdigest(), path

        status = platform.api("status", appkey=appkey, msgid=msgid)["result"]
        assert {m["mobile"]: m["status"] for m in status["list"]} == {
            "13800000001": "DELIVRD",
            "13800000007": "UNDELIV",
            "13800000008": "EXPIRED",
        }


def test_a_long_message_gets_one_report(tmp_path: Path, callbacks: Receiver) -> None:
    with running(_platform(tmp_path)) as platform:
        appkey, _ = _onboard(platform, callbacks)
        content = SIGNATURE + LONG.replace("@", "SF1234567890")
        sent = platform.api("send", appkey=appkey, mobile="13900000002", content=content)
        assert sent["status"] == "0" and sent["result"]["fee"] == "2", sent
        wait_for(lambda: len(callbacks.items("/status")) >= 1, 30, "the status report")
        # Reports leave in the order they were made: a second one for the long message, were one
        # coming, would reach the receiver before the report of a message sent after the first arrived.
        later = platform.api(
            "send", appkey=appkey, mobile="13900000001", content=f"{SIGNATURE}您的验证码是4321，5分钟内有效"
        )
        assert later["status"] == "0", later
        wait_for(lambda: _reports_of(callbacks, later), 30, "the later message's report")
        reports = _reports_of(callbacks, sent)
        assert len(reports) == 1 and reports[0]["status"] == "DELIVRD" and reports[0]["segments"] == "2"


def test_a_reply_reaches_the_reply_url_and_td_opts_out(tmp_path: Path, callbacks: Receiver) -> None:
    control = free_port_block(4)
    with running(_platform(tmp_path, simulator_control_port=str(control))) as platform:
        appkey, accountid = _onboard(platform, callbacks)
        # The sub-account's extension code follows the connector's source number (SPEC §6).
        destination = f"1069000{int(accountid):04d}"
        for text in ("好的，收到", "TD"):
            asyncio.run(
                control_request(
                    "127.0.0.1",
                    control,
                    "inject_mo",
                    source="13700000005",
                    destination=destination,
                    text=text,
                )
            )
        wait_for(lambda: len(callbacks.items("/reply")) >= 2, 30, "two replies")
        replies = callbacks.items("/reply")
        # In either order: the simulator hands one to another dispatch worker's session when the
        # first's window is full, and the two workers store and post them side by side.
        assert sorted(r["content"] for r in replies) == sorted(["好的，收到", "TD"])
        assert all(r["accountid"] == accountid and r["mobile"] == "13700000005" for r in replies)
        headers = next(h for p, h, _ in callbacks.requests if p == "/reply")
        assert headers["authorization"] == "Basic dTpw"  # u:p

        # After TD, marketing to that number is skipped; a verification code still goes.
        promo = platform.api(
            "send",
            appkey=appkey,
            mobile="13700000005,13700000006",
            content=f"{SIGNATURE}会员日全场8折起，回TD退订",
        )
        assert promo["status"] == "0", promo
        assert promo["result"]["count"] == "1"
        assert promo["result"]["failed"] == [{"mobile": "13700000005", "status": "233", "msg": "号码已退订"}]
        listed = platform.api("reply", appkey=appkey)["result"]
        assert sorted(r["content"] for r in listed["list"]) == sorted(["好的，收到", "TD"])


def test_a_receiver_that_fails_for_a_while_gets_every_report_once_back(
    tmp_path: Path, callbacks: Receiver
) -> None:
    with running(_platform(tmp_path, callback_retry_delays="1,1,2")) as platform:
        appkey, _ = _onboard(platform, callbacks)
        callbacks.failing = True
        mobiles = [f"1350000{n:04d}" for n in range(50)]
        sent = platform.api(
            "send", appkey=appkey, mobile=",".join(mobiles), content=f"{SIGNATURE}会员日全场9折起，回TD退订"
        )
        assert sent["result"]["count"] == "50", sent
        wait_for(lambda: callbacks.refused >= 3, 30, "the receiver to refuse a few times")
        callbacks.failing = False
        wait_for(lambda: len(callbacks.items("/status")) >= 50, 60, "every report after recovery")
        ids = [r["reportid"] for r in callbacks.items("/status")]
        assert len(ids) == len(set(ids)) == 50
        assert sorted(r["mobile"] for r in callbacks.items("/status")) == mobiles
