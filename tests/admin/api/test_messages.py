"""Finding a message through the management API: search with keyset pages, one message, CSV."""

from __future__ import annotations

import csv
import io
import time

from smsplatform.store.retention import record_retention
from tests.admin.api.conftest import Mgmt
from tests.store.test_search import T0, add_message, seed


async def test_a_number_is_found_and_paged_newest_first(mgmt: Mgmt) -> None:
    with mgmt.db.engine.begin() as conn:
        seed(conn)
        ids = [add_message(conn, mobile="13800138000", created_at=T0 + n) for n in range(3)]
        add_message(conn, mobile="13900139000", account_id=21)
    page = await mgmt.ok(
        "GET", "/messages", params={"mobile": "+8613800138000", "limit": 2}, as_reviewer=True
    )
    assert [r["id"] for r in page["rows"]] == ids[:0:-1]
    assert page["rows"][0]["customer_name"] == "Acme" and page["rows"][0]["account_signature"] == "【阿克米】"
    rest = await mgmt.ok(
        "GET", "/messages", params={"mobile": "13800138000", "before_id": page["next_before_id"]}
    )
    assert [r["id"] for r in rest["rows"]] == [ids[0]] and rest["next_before_id"] is None
    globex = await mgmt.ok("GET", "/messages", params={"customer_id": 2})
    assert [r["mobile"] for r in globex["rows"]] == ["13900139000"]
    for params in ({"state": "lost"}, {"limit": 0}, {"since": T0 + 10, "until": T0}, {"msgid": "x"}):
        refused = await mgmt.client.get("/messages", params=params)
        assert refused.status_code == 400, (params, refused.text)


async def test_a_message_shows_its_story(mgmt: Mgmt) -> None:
    with mgmt.db.engine.begin() as conn:
        seed(conn)
        message_id = add_message(conn, submitted_at=T0 + 1, done_at=T0 + 5)
    shown = await mgmt.ok("GET", f"/messages/{message_id}", as_reviewer=True)
    assert (shown["id"], shown["customer_name"], shown["state"], shown["stat"]) == (
        message_id,
        "Acme",
        "delivered",
        "DELIVRD",
    )
    assert shown["timeline"][0]["event"] == "accepted"
    missing = await mgmt.client.get("/messages/999999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_a_search_exports_as_csv(mgmt: Mgmt) -> None:
    with mgmt.db.engine.begin() as conn:
        seed(conn)
        first = add_message(conn, content="【阿克米】=cmd|' /C calc'!A0")
        second = add_message(conn, account_id=21, content="【环球】您好")
    answer = await mgmt.reviewer.get("/messages.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="messages.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(r["id"]) for r in rows] == [second, first]
    assert rows[0]["customer"] == "Globex"
    only = await mgmt.client.get("/messages.csv", params={"customer_id": 1, "max_rows": 5})
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(only.text))] == [first]
    refused = await mgmt.client.get("/messages.csv", params={"carrier": "martian"})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid"
    assert (await mgmt.anonymous.get("/messages.csv")).status_code == 401


async def test_a_search_says_how_far_back_messages_are_kept(mgmt: Mgmt) -> None:
    page = await mgmt.ok("GET", "/messages", as_reviewer=True)
    assert page["kept_days"] == 0 and page["kept_since"] is None  # before any round: everything kept
    with mgmt.db.engine.begin() as conn:
        record_retention(conn, 30)
    before = int(time.time())
    page = await mgmt.ok("GET", "/messages", as_reviewer=True)
    assert page["kept_days"] == 30
    assert before - 30 * 86_400 <= page["kept_since"] <= int(time.time()) - 30 * 86_400
