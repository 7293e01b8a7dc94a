"""`/sms/status` and `/sms/reply` (SPEC §8): ownership of the ids asked for, and bad dates refused."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from smsplatform.store.accounts import Account
from smsplatform.store.schema import messages
from tests.api.conftest import NOTIFY, Api, Tenant, error, filled, ok


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """The parameter rules are the API's: SQLite only."""
    return sqlite_url


async def test_status_of_a_send(tenant: Tenant, shop: Account) -> None:
    sent = ok(await tenant.send("13800138001,13800138002", filled(NOTIFY)))
    result = ok(await tenant.call("status", {"msgid": sent["msgid"]}))
    assert result["total"] == "2"
    assert [row["mobile"] for row in result["list"]] == ["13800138001", "13800138002"]
    assert all(row["msgid"] == sent["msgid"] for row in result["list"])


async def test_another_customers_msgid_shows_nothing(api: Api, tenant: Tenant, shop: Account) -> None:
    sent = ok(await tenant.send("13800138001", filled(NOTIFY)))
    stranger = await api.customer()
    assert ok(await stranger.call("status", {"msgid": sent["msgid"]}))["total"] == "0"


async def test_reply_by_account_needs_one_of_the_customers_accounts(
    api: Api, tenant: Tenant, shop: Account
) -> None:
    assert ok(await tenant.call("reply", {"accountid": str(shop.id)}))["total"] == "0"
    stranger = await api.customer()
    assert error(await stranger.call("reply", {"accountid": str(shop.id)})) == 219
    assert error(await stranger.call("reply", {"accountid": "x"})) == 219


async def test_bad_dates_and_numbers_are_refused_not_a_bug(tenant: Tenant) -> None:
    for endpoint in ("status", "reply"):
        for date in ("9999-12-31", "2024-02-30", "2024-13-01", "yesterday", "２０２４-01-01"):
            answer = await tenant.call(endpoint, {"mobile": "13800138000", "date": date})
            assert error(answer) == 232, (endpoint, date, answer)
    assert error(await tenant.call("status", {"mobile": "123"})) == 202
    assert error(await tenant.call("status", {"msgid": "abc"})) == 232
    assert error(await tenant.call("status")) == 232


async def test_a_msgid_older_than_the_retention_answers_as_an_unknown_one(
    api: Api, tenant: Tenant, shop: Account
) -> None:
    """Default retention, 90 days: a send accepted 91 days ago (its rows still stored, no round having
    run) answers exactly as a msgid that never existed; one of 89 days ago still answers."""
    old = ok(await tenant.send("13800138001", filled(NOTIFY)))
    kept = ok(await tenant.send("13800138002", filled(NOTIFY)))
    now = int(time.time())
    with api.db.engine.begin() as conn:
        for msgid, days in ((old["msgid"], 91), (kept["msgid"], 89)):
            conn.execute(
                sa.update(messages)
                .where(messages.c.send_id == int(msgid))
                .values(created_at=now - days * 86_400)
            )
    unknown = await tenant.call("status", {"msgid": "987654321"})
    answer = await tenant.call("status", {"msgid": old["msgid"]})
    assert ok(answer) == ok(unknown) and ok(answer)["total"] == "0" and ok(answer)["list"] == []
    assert ok(await tenant.call("status", {"msgid": kept["msgid"]}))["total"] == "1"
