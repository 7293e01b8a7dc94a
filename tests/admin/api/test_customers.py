"""Customers, sub-accounts, templates and the review queue through the management API."""

from __future__ import annotations

from typing import Any

from smsplatform.store import accounts, customers, templates
from smsplatform.store.templates import TemplateDraft
from tests.admin.api.conftest import Mgmt


async def _customer(mgmt: Mgmt, name: str = "客户甲", totalnum: int = 1000) -> dict[str, Any]:
    created = await mgmt.ok("POST", "/customers", json={"name": name, "totalnum": totalnum})
    assert created["appkey"]
    return dict(created["customer"])


def _pending(mgmt: Mgmt, customer_id: int, signature: str = "【测试公司】") -> tuple[int, int]:
    """A pending sub-account with a pending template, as a customer's addaccount and addtemplate leave
    them."""
    with mgmt.db.engine.begin() as conn:
        account = accounts.create_account(
            conn, customer_id, {"company": "测试公司", "signature": signature, "totalnum": 100}, approve=False
        )
        template = templates.create_template(
            conn, account.id, TemplateDraft("通知", "您的订单@已发货", 0, "notification", 0, "")
        )
    return account.id, template.id


async def test_an_operator_runs_a_customer_from_creation_to_disabling(mgmt: Mgmt) -> None:
    customer = await _customer(mgmt)
    cid = customer["id"]
    assert customer["name"] == "客户甲" and customer["enabled"] is True and customer["allow_ips"] == []
    assert (await mgmt.ok("POST", f"/customers/{cid}/topup", json={"amount": 500}))["totalnum"] == 1500
    allowed = await mgmt.ok(
        "PUT", f"/customers/{cid}/allow-ips", json={"networks": ["10.0.0.1", "192.168.0.0/24"]}
    )
    assert allowed["allow_ips"] == ["10.0.0.1/32", "192.168.0.0/24"]
    assert (await mgmt.ok("PUT", f"/customers/{cid}/daily-limit", json={"limit": 5000}))[
        "daily_request_limit"
    ] == 5000
    assert (await mgmt.ok("PUT", f"/customers/{cid}/daily-limit", json={"limit": None}))[
        "daily_request_limit"
    ] is None
    assert (await mgmt.ok("PUT", f"/customers/{cid}/expiry", json={"expires_at": 4102444800}))["expires_at"]
    assert (await mgmt.ok("POST", f"/customers/{cid}/disable"))["enabled"] is False
    assert (await mgmt.ok("GET", f"/customers/{cid}", as_reviewer=True))["enabled"] is False
    assert (await mgmt.ok("POST", f"/customers/{cid}/enable"))["enabled"] is True
    listed = await mgmt.ok("GET", "/customers", as_reviewer=True)
    assert [c["name"] for c in listed] == ["客户甲"] and "appkey" not in listed[0]
    actions = [e["action"] for e in await mgmt.ok("GET", "/audit", params={"action": "customer"})]
    assert actions == [
        "customer.enable",
        "customer.disable",
        "customer.expiry",
        "customer.daily_limit",
        "customer.daily_limit",
        "customer.allow_ips",
        "customer.topup",
        "customer.create",
    ]


async def test_customer_input_the_rules_refuse_is_a_400_and_missing_ones_a_404(mgmt: Mgmt) -> None:
    cid = (await _customer(mgmt))["id"]
    for method, path, body in (
        ("POST", "/customers", {"name": " ", "totalnum": 10}),
        ("POST", "/customers", {"name": "x", "totalnum": 0}),
        ("POST", "/customers", {"name": "x", "totalnum": "10"}),
        ("POST", f"/customers/{cid}/topup", {"amount": -5}),
        ("PUT", f"/customers/{cid}/allow-ips", {"networks": ["not-an-ip"]}),
        ("PUT", f"/customers/{cid}/allow-ips", {"networks": "10.0.0.1"}),
        ("PUT", f"/customers/{cid}/daily-limit", {}),
    ):
        answer = await mgmt.client.request(method, path, json=body)
        assert answer.status_code == 400, (path, body, answer.text)
    assert (await mgmt.client.post("/customers/999999/topup", json={"amount": 5})).status_code == 404
    assert (await mgmt.client.get("/customers/999999")).status_code == 404
    refused = await mgmt.reviewer.post(f"/customers/{cid}/disable")
    assert refused.status_code == 403
    assert (await mgmt.ok("GET", f"/customers/{cid}"))["enabled"] is True


async def test_a_reviewer_clears_the_queue_one_by_one_or_in_bulk(mgmt: Mgmt) -> None:
    cid = (await _customer(mgmt))["id"]
    first_account, first_template = _pending(mgmt, cid)
    second_account, second_template = _pending(mgmt, cid, "【第二公司】")
    queue = await mgmt.ok("GET", "/review", as_reviewer=True)
    assert [r["account"]["id"] for r in queue["accounts"]] == [first_account, second_account]
    assert queue["accounts"][0]["account"]["customer_name"] == "客户甲"
    # A template of a sub-account still pending says so among its findings.
    assert {"rule": "account_not_approved", "field": "account", "detail": "pending"} in queue["templates"][0][
        "findings"
    ]

    approved = await mgmt.ok("POST", f"/accounts/{first_account}/approve", as_reviewer=True)
    assert approved["status"] == "approved"
    again = await mgmt.reviewer.post(f"/accounts/{first_account}/approve")
    assert again.status_code == 409 and again.json()["error"] == "invalid_state"
    rejected = await mgmt.ok(
        "POST", f"/templates/{first_template}/reject", json={"reason": "内容不规范"}, as_reviewer=True
    )
    assert (rejected["status"], rejected["failreason"]) == ("rejected", "内容不规范")

    decided = await mgmt.ok(
        "POST",
        "/review",
        json={"approve_accounts": [second_account], "approve_templates": [second_template]},
        as_reviewer=True,
    )
    assert [a["status"] for a in decided["accounts"]] == ["approved"]
    assert [t["status"] for t in decided["templates"]] == ["approved"]
    assert await mgmt.ok("GET", "/review") == {"accounts": [], "templates": []}
    checked = await mgmt.ok("GET", f"/review/templates/{second_template}")
    assert checked["template"]["status"] == "approved" and checked["findings"] == []


async def test_a_bulk_review_with_one_refused_decision_changes_nothing(mgmt: Mgmt) -> None:
    cid = (await _customer(mgmt))["id"]
    account_id, template_id = _pending(mgmt, cid)
    nothing = await mgmt.client.post("/review", json={})
    assert nothing.status_code == 400
    no_reason = await mgmt.client.post("/review", json={"reject_templates": [template_id]})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["message"]
    unknown = await mgmt.client.post("/review", json={"approve_accounts": [account_id, 999999]})
    assert unknown.status_code == 404
    assert (await mgmt.ok("GET", f"/accounts/{account_id}"))["status"] == "pending"


async def test_sub_accounts_are_disabled_enabled_exempted_and_limited(mgmt: Mgmt) -> None:
    cid = (await _customer(mgmt))["id"]
    account_id, _ = _pending(mgmt, cid)
    await mgmt.ok("POST", f"/accounts/{account_id}/approve")
    assert (await mgmt.ok("POST", f"/accounts/{account_id}/disable"))["status"] == "disabled"
    assert (await mgmt.client.post(f"/accounts/{account_id}/disable")).status_code == 409
    assert (await mgmt.ok("POST", f"/accounts/{account_id}/enable"))["status"] == "approved"
    assert (await mgmt.ok("POST", f"/accounts/{account_id}/exempt"))["template_exempt"] is True
    assert (await mgmt.ok("POST", f"/accounts/{account_id}/unexempt"))["template_exempt"] is False
    limited = await mgmt.ok(
        "PUT", f"/accounts/{account_id}/limits", json={"kind": "verification", "limits": "2/60,3/1h"}
    )
    assert limited["freq_limits"] == {"verification": "2/60,3/1h"}
    bad = await mgmt.client.put(
        f"/accounts/{account_id}/limits", json={"kind": "verification", "limits": "lots"}
    )
    assert bad.status_code == 400
    cleared = await mgmt.ok(
        "PUT", f"/accounts/{account_id}/limits", json={"kind": "verification", "limits": None}
    )
    assert cleared["freq_limits"] == {}
    aged = await mgmt.ok(
        "PUT", f"/accounts/{account_id}/max-age", json={"kind": "verification", "seconds": 300}
    )
    assert aged["max_age"] == {"verification": 300}
    too_long = {"kind": "verification", "seconds": 400 * 86400}
    assert (await mgmt.client.put(f"/accounts/{account_id}/max-age", json=too_long)).status_code == 400
    reset = await mgmt.ok(
        "PUT", f"/accounts/{account_id}/max-age", json={"kind": "verification", "seconds": None}
    )
    assert reset["max_age"] == {}
    assert [a["id"] for a in await mgmt.ok("GET", "/accounts", params={"status": "approved"})] == [account_id]
    assert await mgmt.ok("GET", "/accounts", params={"status": "rejected", "customer_id": cid}) == []
    assert (await mgmt.client.get("/accounts", params={"status": "sleeping"})).status_code == 400
    for path in ("disable", "exempt"):
        assert (await mgmt.reviewer.post(f"/accounts/{account_id}/{path}")).status_code == 403


async def test_templates_are_listed_with_their_signature_and_customer(mgmt: Mgmt) -> None:
    cid = (await _customer(mgmt))["id"]
    account_id, template_id = _pending(mgmt, cid)
    listed = await mgmt.ok("GET", "/templates", params={"account_id": account_id}, as_reviewer=True)
    assert [(t["id"], t["signature"], t["customer_name"], t["status"]) for t in listed] == [
        (template_id, "【测试公司】", "客户甲", "pending")
    ]
    assert (await mgmt.ok("POST", f"/templates/{template_id}/approve"))["status"] == "approved"
    assert (await mgmt.client.get("/templates/999999")).status_code == 404


async def test_words_platform_switches_and_settings(mgmt: Mgmt) -> None:
    added = await mgmt.ok("POST", "/words", json={"words": ["赌博", " 代开发票 "]})
    assert sorted(added["changed"]) == sorted(["赌博", "代开发票"]) and added["unchanged"] == []
    imported = await mgmt.ok("POST", "/words/import", json={"text": "\ufeff# list\n赌博\n\n六合彩\n"})
    assert imported == {"changed": ["六合彩"], "unchanged": ["赌博"]}
    assert sorted(w["word"] for w in await mgmt.ok("GET", "/words", as_reviewer=True)) == sorted(
        ["赌博", "代开发票", "六合彩"]
    )
    removed = await mgmt.ok("DELETE", "/words", params=[("word", "赌博"), ("word", "没有")])
    assert removed == {"changed": ["赌博"], "unchanged": ["没有"]}
    assert (await mgmt.client.post("/words", json={"words": []})).status_code == 400

    assert (await mgmt.ok("PUT", "/platform/maintenance", json={"on": True}))["maintenance"] is True
    state = await mgmt.ok("PUT", "/platform/endpoints/send", json={"enabled": False})
    assert state["disabled_endpoints"] == ["send"]
    assert (await mgmt.client.put("/platform/endpoints/nosuch", json={"enabled": False})).status_code == 400
    assert (await mgmt.reviewer.put("/platform/maintenance", json={"on": False})).status_code == 403
    assert (await mgmt.ok("GET", "/platform", as_reviewer=True))["maintenance"] is True

    settings = {s["name"]: s for s in await mgmt.ok("GET", "/settings", as_reviewer=True)}
    assert settings["admin_port"]["value"] == "8081"
    assert set(settings["admin_secret"]) == {"name", "value", "source"}


async def test_a_new_appkey_is_in_the_rotation_answer_only_and_the_old_one_keeps_its_grace(
    mgmt: Mgmt,
) -> None:
    created = await mgmt.ok("POST", "/customers", json={"name": "客户甲", "totalnum": 10})
    cid = created["customer"]["id"]
    rotated = await mgmt.ok("POST", f"/customers/{cid}/rotate-key", json={"grace_seconds": 600})
    assert len(rotated["appkey"]) == 32 and rotated["appkey"] != created["appkey"]
    assert rotated["customer"]["old_appkey_ends_at"] is not None
    with mgmt.db.engine.connect() as conn:
        assert customers.get_customer_by_appkey(conn, created["appkey"]) is not None
    shown = str(await mgmt.ok("GET", f"/customers/{cid}")) + str(await mgmt.ok("GET", "/customers"))
    assert created["appkey"] not in shown and rotated["appkey"] not in shown
    refused = await mgmt.client.post(f"/customers/{cid}/rotate-key", json={"grace_seconds": -1})
    assert refused.status_code == 400 and "grace" in refused.text
    forbidden = await mgmt.reviewer.post(f"/customers/{cid}/rotate-key", json={})
    assert forbidden.status_code == 403
    default = await mgmt.ok("POST", f"/customers/{cid}/rotate-key", json={})
    with mgmt.db.engine.connect() as conn:
        assert customers.get_customer_by_appkey(conn, rotated["appkey"]) is not None
        assert customers.get_customer_by_appkey(conn, created["appkey"]) is None  # its grace ended now
        assert customers.get_customer_by_appkey(conn, default["appkey"]) is not None
