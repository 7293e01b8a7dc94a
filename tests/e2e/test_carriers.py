"""三网合一 end to end: each carrier over its own protocol to its built-in simulator, and back.

With the default routes, China Mobile numbers go over CMPP, China Unicom over SGIP (reports and MO come
back on a connection the SMSC opens to us), China Telecom and Broadnet over SMGP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from smsplatform.simulator.control import control_request
from tests.e2e.receiver import Receiver
from tests.e2e.support import Platform, free_port_block, platform_env, running, wait_for

pytestmark = pytest.mark.e2e

SIGNATURE = "【三网合一】"
PROMO = "周末特惠@，回TD退订"
LONG = "尊敬的客户，" + "感谢您一直以来的支持与信任，" * 6 + "您的订单@已发货。"
# Control ports follow simulator_control_port in this order (app.BUILTIN_SIMULATORS).
CONTROL_OFFSET = {"smpp": 0, "cmpp": 1, "sgip": 2, "smgp": 3}
# One number per carrier; the last digit 1 makes the simulators answer DELIVRD.
BY_PROTOCOL = {
    "cmpp": "13800000001",  # China Mobile
    "sgip": "18600000001",  # China Unicom
    "smgp": "18900000001",  # China Telecom
}
BROADNET = "19200000001"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    control = free_port_block(4)
    with running(
        Platform(data_dir=tmp_path, env=platform_env(simulator_control_port=str(control)))
    ) as running_:
        running_.env["CONTROL"] = str(control)
        yield running_


def _onboard(platform: Platform, rec: Receiver) -> tuple[str, str]:
    appkey = platform.cli("customer", "create", "--name", "carriers", "--totalnum", "1000")
    account = platform.api(
        "addaccount", appkey=appkey, company="三网", signature=SIGNATURE, totalnum="1000",
        statusurl=rec.url("/status"), replyurl=rec.url("/reply"),
    )  # fmt: skip
    accountid = account["result"]["accountid"]
    for name, content, market in (("promo", PROMO, "1"), ("long", LONG, "0")):
        added = platform.api(
            "addtemplate", appkey=appkey, accountid=accountid, name=name, content=content, ismarket=market
        )
        assert added["result"]["status"] == "1", added
    return appkey, accountid


def _inject(platform: Platform, protocol: str, **mo: str) -> None:
    port = int(platform.env["CONTROL"]) + CONTROL_OFFSET[protocol]
    asyncio.run(control_request("127.0.0.1", port, "inject_mo", **mo))


def _sent_per_link(platform: Platform) -> dict[str, int]:
    listed = json.loads(platform.cli("connector", "list", "--json"))
    return {link["name"]: link["health"]["sent"] for link in listed}


def test_one_batch_to_all_carriers_goes_over_each_carriers_protocol(
    platform: Platform, callbacks: Receiver
) -> None:
    appkey, _ = _onboard(platform, callbacks)
    mobiles = [*BY_PROTOCOL.values(), BROADNET]
    sent = platform.api(
        "send", appkey=appkey, mobile=",".join(mobiles), content=f"{SIGNATURE}周末特惠满100减20，回TD退订"
    )
    assert sent["result"]["count"] == "4", sent
    wait_for(lambda: len(callbacks.items("/status")) >= 4, 30, "a report per carrier")
    assert {r["mobile"]: r["status"] for r in callbacks.items("/status")} == dict.fromkeys(mobiles, "DELIVRD")
    # Each simulator's link carried its carriers' messages (health is written every few seconds).
    wait_for(lambda: _sent_per_link(platform).get("sim-smgp", 0) >= 2, 15, "connector health")
    per_link = _sent_per_link(platform)
    assert per_link["sim-cmpp"] >= 1 and per_link["sim-sgip"] >= 1 and per_link["sim-smgp"] >= 2
    assert per_link["sim-smpp"] == 0


@pytest.mark.parametrize("protocol", ["cmpp", "sgip", "smgp"])
def test_long_message_report_reply_and_opt_out_per_protocol(
    platform: Platform, callbacks: Receiver, protocol: str
) -> None:
    appkey, accountid = _onboard(platform, callbacks)
    mobile = BY_PROTOCOL[protocol]
    content = SIGNATURE + LONG.replace("@", "SF1234567890")
    sent = platform.api("send", appkey=appkey, mobile=mobile, content=content)
    assert sent["result"]["fee"] == "2", sent
    wait_for(lambda: len(callbacks.items("/status")) >= 1, 30, "the status report")
    [report] = callbacks.items("/status")
    assert (report["mobile"], report["status"], report["segments"]) == (mobile, "DELIVRD", "2")

    # A reply to the sub-account's extension of the connector's number finds its sub-account.
    destination = f"1069000{int(accountid):04d}"
    _inject(platform, protocol, source=mobile, destination=destination, text="收到，谢谢")
    _inject(platform, protocol, source=mobile, destination=destination, text="td")
    wait_for(lambda: len(callbacks.items("/reply")) >= 2, 30, "the replies")
    replies = callbacks.items("/reply")
    # In either order: the simulator may hand each to the session of another dispatch worker.
    assert sorted((r["mobile"], r["content"], r["accountid"]) for r in replies) == sorted(
        [(mobile, "收到，谢谢", accountid), (mobile, "td", accountid)]
    )
    promo = platform.api(
        "send", appkey=appkey, mobile=mobile, content=f"{SIGNATURE}周末特惠满100减20，回TD退订"
    )
    assert promo["status"] == "233", promo  # the only number opted out


def test_the_operator_moves_a_carrier_to_another_link_without_restart(
    platform: Platform, callbacks: Receiver
) -> None:
    appkey, _ = _onboard(platform, callbacks)
    platform.cli("route", "set", "mobile", "sim-smpp")
    platform.cli("pin", "set", "18900000002", "mobile")  # a Telecom number that moved to China Mobile
    moved = {"13800000002": ("mobile", "sim-smpp"), "18900000002": ("mobile", "sim-smpp")}
    notice = SIGNATURE + LONG.replace("@", "SF1234567890")  # a notification: a few a day per number

    def sent_over_the_new_link() -> str | None:
        """One send to both numbers; its msgid when both went over SMPP as China Mobile."""
        sent = platform.api("send", appkey=appkey, mobile=",".join(moved), content=notice)
        assert sent["result"]["count"] == "2", sent
        msgid = sent["result"]["msgid"]
        links = wait_for(lambda: _links_of(platform, msgid), 30, "both messages submitted")
        return msgid if links == moved else None

    # The API (the pin) and each dispatch process (the route) look at the configuration every few
    # moments: the change shows, without a restart, in the sends made once they have looked.
    msgid = wait_for(sent_over_the_new_link, 30, "a send over the new link", every=0)
    wait_for(lambda: _reports_of(callbacks, msgid) == dict.fromkeys(moved, "DELIVRD"), 30, "both reports")


def _links_of(platform: Platform, msgid: str) -> dict[str, tuple[str, str]] | None:
    """Each message of a send: its mobile's carrier and link, once every one has a link."""
    found = json.loads(platform.cli("message", "search", "--msgid", msgid, "--json"))["rows"]
    if not found or any(not row["connector"] for row in found):
        return None
    return {row["mobile"]: (row["carrier"], row["connector"]) for row in found}


def _reports_of(rec: Receiver, msgid: str) -> dict[str, str]:
    return {r["mobile"]: r["status"] for r in rec.items("/status") if r["msgid"] == msgid}
