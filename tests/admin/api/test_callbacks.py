"""Failing callback receivers, retry now, replies and opt-outs through the management API."""

from __future__ import annotations

import time

import sqlalchemy as sa

from smsplatform.store import callbacks as outbox
from smsplatform.store.schema import optouts
from tests.admin.api.conftest import Mgmt
from tests.store.test_receivers import attempt, owe
from tests.store.test_search import T0, add_reply, seed


async def test_failing_receivers_are_shown_by_host_and_retried_now_by_an_admin(mgmt: Mgmt) -> None:
    now = int(time.time())
    with mgmt.db.engine.begin() as conn:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 3, now - 600)
        attempt(conn, now - 30, {(11, "report"): "HTTP 500"})
    failing = await mgmt.ok("GET", "/callbacks/failing", as_reviewer=True)
    assert [(r["host"], r["kind"], r["customer_name"], r["backlog"], r["last_error"]) for r in failing] == [
        ("hooks.acme.example", "report", "Acme", 3, "HTTP 500")
    ]
    backlog = await mgmt.ok("GET", "/callbacks/backlog", as_reviewer=True)
    assert (backlog["pending"], backlog["failing_receivers"]) == (3, 1)

    assert (await mgmt.reviewer.post("/callbacks/retry", json={})).status_code == 403
    assert (await mgmt.client.post("/callbacks/retry", json={"account_id": 99})).status_code == 404
    assert await mgmt.ok("POST", "/callbacks/retry", json={"host": "hooks.acme.example"}) == {"callbacks": 3}
    assert await mgmt.ok("POST", "/callbacks/retry") == {"callbacks": 0}
    entry = (await mgmt.ok("GET", "/audit", params={"action": "callback.retry", "limit": 2}))[1]
    assert entry["after"]["callbacks"] == 3 and entry["via"] == "api"


async def test_replies_and_opt_outs_are_searched_and_paged(mgmt: Mgmt) -> None:
    with mgmt.db.engine.begin() as conn:
        seed(conn)
        add_reply(conn, account_id=11, mobile="13800138000", content="TD", received_at=T0, reply_id=1)
        add_reply(conn, account_id=21, mobile="13900139000", content="收到", received_at=T0 + 9, reply_id=2)
        conn.execute(
            sa.insert(optouts),
            [
                {"account_id": 11, "mobile": "13800138000", "created_at": T0},
                {"account_id": 21, "mobile": "13800138000", "created_at": T0 + 1},
            ],
        )
    found = await mgmt.ok("GET", "/replies", params={"mobile": "+8613800138000"}, as_reviewer=True)
    assert [(r["id"], r["customer_name"], r["content"]) for r in found["rows"]] == [(1, "Acme", "TD")]
    first = await mgmt.ok("GET", "/replies", params={"limit": 1})
    assert [r["id"] for r in first["rows"]] == [2] and first["next_before_id"] == 2
    rest = await mgmt.ok("GET", "/replies", params={"limit": 1, "before_id": first["next_before_id"]})
    assert [r["id"] for r in rest["rows"]] == [1]
    assert (await mgmt.client.get("/replies", params={"limit": 10_000})).status_code == 400

    page = await mgmt.ok("GET", "/optouts", params={"mobile": "13800138000", "limit": 1}, as_reviewer=True)
    assert len(page["rows"]) == 1 and page["next_before"]
    more = await mgmt.ok("GET", "/optouts", params={"mobile": "13800138000", "before": page["next_before"]})
    assert {r["account_id"] for r in page["rows"] + more["rows"]} == {11, 21}
