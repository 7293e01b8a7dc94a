"""Customers in the console: created with the appkey shown once, topped up, disabled, IP allow-list
and limits; sub-accounts enabled, exempted and given frequency limits (both backends)."""

from __future__ import annotations

import re

from smsplatform.admin import accounts, customers
from smsplatform.store import customers as store_customers
from smsplatform.store.database import Database
from tests.admin.console.conftest import ROOT, Browser, World


async def test_a_new_customer_s_appkey_is_shown_once(admin: Browser, world: World, db: Database) -> None:
    await admin.get("/customers")
    answer = await admin.post(
        "/customers", {"name": "Initech", "totalnum": "5000", "allow_ips": "10.0.0.0/8"}
    )
    assert answer.status_code == 201
    appkey = re.search(r'<code id="appkey">([^<]+)</code>', answer.text)
    assert appkey is not None
    with db.engine.begin() as conn:
        created = [c for c in customers.list_customers(conn, ROOT) if c.name == "Initech"]
    assert len(created) == 1 and created[0].allow_ips == ("10.0.0.0/8",)
    page = await admin.get(f"/customers/{created[0].id}")
    assert page.status_code == 200 and appkey.group(1) not in page.text
    assert appkey.group(1) not in (await admin.get("/customers")).text


async def test_a_customer_is_topped_up_limited_and_disabled(
    admin: Browser, world: World, db: Database
) -> None:
    await admin.get("/customers/2")
    for path, form in (
        ("topup", {"amount": "1000"}),
        ("daily-limit", {"daily_limit": "500"}),
        ("allow-ips", {"allow_ips": "203.0.113.7\n10.1.0.0/16"}),
        ("expiry", {"expires_at": "2031-01-31T08:00"}),
        ("disable", {}),
    ):
        answer = await admin.post(f"/customers/2/{path}", form)
        assert answer.status_code == 303 and answer.headers["location"] == "/customers/2", path
    with db.engine.begin() as conn:
        found = customers.get_customer(conn, ROOT, 2)
    assert found.totalnum == 10**9 + 1000 and found.daily_request_limit == 500
    assert found.allow_ips == ("203.0.113.7/32", "10.1.0.0/16") and not found.enabled
    assert found.expires_at is not None
    page = (await admin.get("/customers/2")).text
    assert "Saved." in page and "/customers/2/enable" in page


async def test_bad_customer_input_is_refused_with_its_reason(admin: Browser, world: World) -> None:
    await admin.get("/customers/1")
    answer = await admin.post("/customers/1/allow-ips", {"allow_ips": "not-an-address"})
    assert answer.status_code == 400 and "not-an-address" in answer.text
    answer = await admin.post("/customers/1/topup", {"amount": "lots"})
    assert answer.status_code == 400 and "lots" in answer.text
    answer = await admin.post("/customers", {"name": "", "totalnum": "10"})
    assert answer.status_code == 400


async def test_a_sub_account_is_disabled_enabled_exempted_and_limited(
    admin: Browser, world: World, db: Database
) -> None:
    await admin.get("/accounts/11")
    assert (await admin.post("/accounts/11/disable", {"back": "/customers/1"})).headers[
        "location"
    ] == "/customers/1"
    with db.engine.begin() as conn:
        assert accounts.get_account(conn, ROOT, 11).status == "disabled"
    await admin.post("/accounts/11/enable")
    await admin.post("/accounts/11/exempt")
    answer = await admin.post("/accounts/11/limits", {"kind": "verification", "limits": "3/60,6/1h"})
    assert answer.status_code == 303 and answer.headers["location"] == "/accounts/11"
    with db.engine.begin() as conn:
        found = accounts.get_account(conn, ROOT, 11)
    assert found.status == "approved" and found.template_exempt
    assert found.freq_limits == {"verification": "3/60,6/1h"}
    page = (await admin.get("/accounts/11")).text
    assert "3/60,6/1h" in page and "/accounts/11/unexempt" in page
    await admin.post("/accounts/11/limits", {"kind": "verification", "reset": "1"})
    bad = await admin.post("/accounts/11/limits", {"kind": "verification", "limits": "often"})
    assert bad.status_code == 400
    with db.engine.begin() as conn:
        assert accounts.get_account(conn, ROOT, 11).freq_limits == {}


async def test_a_new_appkey_is_shown_once_and_the_old_one_works_through_its_grace(
    admin: Browser, world: World, db: Database
) -> None:
    await admin.get("/customers/1")
    first = await admin.post("/customers/1/rotate-key", {"grace_hours": "2"})
    assert first.status_code == 200
    shown = re.search(r'<code id="appkey">([^<]+)</code>', first.text)
    assert shown is not None and "The old appkey works until" in first.text
    second = await admin.post("/customers/1/rotate-key", {"grace_hours": "0"})
    latest = re.search(r'<code id="appkey">([^<]+)</code>', second.text)
    assert latest is not None and "The old appkey no longer works." in second.text
    with db.engine.connect() as conn:
        assert store_customers.get_customer_by_appkey(conn, latest.group(1)) is not None
        assert store_customers.get_customer_by_appkey(conn, shown.group(1)) is None  # no grace: ended
    page = (await admin.get("/customers/1")).text
    assert latest.group(1) not in page and "/customers/1/rotate-key" in page
    refused = await admin.post("/customers/1/rotate-key", {"grace_hours": "many"})
    assert refused.status_code == 400


async def test_a_reviewer_cannot_rotate_an_appkey(reviewer: Browser, world: World) -> None:
    await reviewer.get("/customers/1")
    answer = await reviewer.post("/customers/1/rotate-key", {"grace_hours": "1"})
    assert answer.status_code == 403
