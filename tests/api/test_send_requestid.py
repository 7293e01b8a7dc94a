"""`requestid` on send: the same key within 24 hours answers the first answer and sends nothing again."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from smsplatform.store.accounts import Account
from smsplatform.store.schema import sends
from tests.api.conftest import NOTIFY, VERIFY, Api, Tenant, envelope, error, filled, ok

A, B = "13800138001", "13800138002"


async def test_a_repeated_request_gets_the_first_answer_and_sends_nothing(
    tenant: Tenant, shop: Account
) -> None:
    params = {
        "appkey": tenant.appkey,
        "mobile": f"{A},123",
        "content": filled(NOTIFY),
        "requestid": "order-1",
    }
    first = await tenant.api.client.post("/sms/send", data=params)
    again = await tenant.api.client.post("/sms/send", data=params)
    assert again.content == first.content
    result = ok(envelope(first))
    assert result["failed"] == [{"mobile": "123", "status": "202", "msg": "手机号有误"}]
    assert len(await tenant.api.messages()) == 1
    assert len(await tenant.api.sends()) == 1
    assert (await tenant.get_account(shop.id)).usednum == 1


async def test_the_key_outlives_the_frequency_limits(tenant: Tenant, shop: Account) -> None:
    first = ok(await tenant.send(A, filled(VERIFY, "1111"), requestid="k1"))
    for code in ("2222", "3333", "4444"):
        ok(await tenant.send(A, filled(VERIFY, code)))
    assert error(await tenant.send(A, filled(VERIFY, "5555"))) == 210
    assert ok(await tenant.send(A, filled(VERIFY, "1111"), requestid="k1")) == first


async def test_the_same_key_with_another_request_is_234(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.send(A, filled(NOTIFY), requestid="k"))
    assert error(await tenant.send(A, filled(NOTIFY, "9"), requestid="k")) == 234
    assert error(await tenant.send(B, filled(NOTIFY), requestid="k")) == 234
    assert len(await tenant.api.messages()) == 1


async def test_keys_belong_to_one_customer(api: Api, tenant: Tenant, shop: Account) -> None:
    other = await api.customer()
    await other.shop("【第二公司】")
    ok(await tenant.send(A, filled(NOTIFY), requestid="shared"))
    second = ok(
        await other.send(A, filled(NOTIFY).replace("【测试公司】", "【第二公司】"), requestid="shared")
    )
    assert second["count"] == "1"
    assert len(await api.messages()) == 2


async def test_a_refused_request_does_not_use_up_its_key(tenant: Tenant) -> None:
    account = await tenant.shop(totalnum=1)
    assert error(await tenant.send(f"{A},{B}", filled(NOTIFY), requestid="retry")) == 209
    ok(await tenant.call("editaccount", {"accountid": str(account.id), "totalnum": "5"}))
    assert ok(await tenant.send(f"{A},{B}", filled(NOTIFY), requestid="retry"))["count"] == "2"


async def test_an_expired_key_may_be_used_again(tenant: Tenant, shop: Account) -> None:
    first = ok(await tenant.send(A, filled(NOTIFY), requestid="daily"))
    await tenant.api.write(
        lambda conn: conn.execute(sa.update(sends).values(created_at=sends.c.created_at - 25 * 3600))
    )
    second = ok(await tenant.send(A, filled(NOTIFY), requestid="daily"))
    assert second["msgid"] != first["msgid"]
    assert len(await tenant.api.messages()) == 2


async def test_concurrent_repeats_send_once(tenant: Tenant, shop: Account) -> None:
    answers = await asyncio.gather(
        *(tenant.send(f"{A},{B}", filled(NOTIFY), requestid="burst") for _ in range(8))
    )
    assert all(answer == answers[0] for answer in answers)
    assert ok(answers[0])["count"] == "2"
    assert len(await tenant.api.messages()) == 2
    assert (await tenant.get_account(shop.id)).usednum == 2


async def test_key_rules(tenant: Tenant, shop: Account) -> None:
    assert error(await tenant.send(A, filled(NOTIFY), requestid="k" * 65)) == 232
    ok(await tenant.send(A, filled(NOTIFY), requestid="k" * 64))
    # A blank key is no key: both are sent.
    ok(await tenant.send(B, filled(NOTIFY), requestid=" "))
    ok(await tenant.send(B, filled(NOTIFY), requestid=""))
    assert len(await tenant.api.messages()) == 3
    quoted = "'; DROP TABLE sends;--"
    first = ok(await tenant.send(A, filled(NOTIFY, "1"), requestid=quoted))
    assert ok(await tenant.send(A, filled(NOTIFY, "1"), requestid=quoted)) == first
