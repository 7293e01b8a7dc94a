"""`/sms/send` anti-bombing and opt-out: frequency limits per number (SPEC §5.5) and 退订 (§5.6)."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from smsplatform.store import accounts as account_repo
from smsplatform.store.accounts import Account
from smsplatform.store.schema import optouts
from tests.api.conftest import MARKET, NOTIFY, VERIFY, Api, ApiFactory, Tenant, error, filled, ok

A, B, C = "13800138001", "13800138002", "13800138003"
FREQUENCY = {"mobile": A, "status": "210", "msg": "指定时间内发送数量超限"}


async def test_verification_4_a_minute_then_the_number_is_skipped(tenant: Tenant, shop: Account) -> None:
    for _ in range(4):
        ok(await tenant.send(A, filled(VERIFY, "1234")))
    result = ok(await tenant.send(f"{A},{B}", filled(VERIFY, "1234")))
    assert (result["count"], result["fee"]) == ("1", "1")
    assert result["failed"] == [FREQUENCY]
    # Nothing left to send: the first number's error.
    assert error(await tenant.send(A, filled(VERIFY, "5678"))) == 210
    assert [m["mobile"] for m in await tenant.api.messages()] == [A] * 4 + [B]
    assert (await tenant.get_account(shop.id)).usednum == 5


async def test_marketing_once_a_day_per_number(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.send(A, filled(MARKET)))
    assert error(await tenant.send(A, filled(MARKET, "7"))) == 210
    # The same number twice in one request counts twice.
    result = ok(await tenant.send(f"{B},{B}", filled(MARKET)))
    assert result["count"] == "1"
    assert result["failed"] == [{**FREQUENCY, "mobile": B}]


async def test_kinds_and_sub_accounts_are_counted_apart(tenant: Tenant, shop: Account) -> None:
    other = await tenant.shop("【第二公司】")
    ok(await tenant.send(A, filled(MARKET)))
    assert error(await tenant.send(A, filled(MARKET))) == 210
    ok(await tenant.send(A, filled(NOTIFY)))
    ok(await tenant.send(A, filled(VERIFY)))
    ok(await tenant.send(A, filled(MARKET).replace("【测试公司】", other.signature)))


async def test_notification_default_is_50_a_day(tenant: Tenant, shop: Account) -> None:
    for _ in range(50):
        ok(await tenant.send(A, filled(NOTIFY)))
    assert error(await tenant.send(A, filled(NOTIFY))) == 210


async def test_operator_overrides_per_sub_account(api: Api, tenant: Tenant, shop: Account) -> None:
    limits = {"verification": "1/60", "marketing": "3/86400"}
    await api.write(account_repo.set_frequency_limits, shop.id, limits)
    ok(await tenant.send(A, filled(VERIFY)))
    assert error(await tenant.send(A, filled(VERIFY))) == 210
    for _ in range(3):
        ok(await tenant.send(B, filled(MARKET)))
    assert error(await tenant.send(B, filled(MARKET))) == 210
    # Kinds without an override keep the defaults; an empty override is no limit.
    await api.write(account_repo.set_frequency_limits, shop.id, {"marketing": ""})
    for _ in range(5):
        ok(await tenant.send(C, filled(MARKET)))


async def test_a_zero_limit_blocks_the_kind(api: Api, tenant: Tenant, shop: Account) -> None:
    await api.write(account_repo.set_frequency_limits, shop.id, {"notification": "0/60"})
    assert error(await tenant.send(A, filled(NOTIFY))) == 210
    ok(await tenant.send(A, filled(VERIFY)))


async def test_invalid_numbers_and_limits_are_listed_in_request_order(tenant: Tenant, shop: Account) -> None:
    ok(await tenant.send(A, filled(MARKET)))
    result = ok(await tenant.send(f"123,{A},{B}", filled(MARKET)))
    assert result["count"] == "1"
    assert result["failed"] == [{"mobile": "123", "status": "202", "msg": "手机号有误"}, FREQUENCY]


async def test_limits_hold_across_a_restart(make_api: ApiFactory) -> None:
    """A new process over the same database (what a restart after SIGTERM or SIGKILL leaves): the
    counts are the stored messages, written before the first process answered."""
    first = await make_api()
    tenant = await first.customer()
    shop = await tenant.shop()
    await first.write(account_repo.set_frequency_limits, shop.id, {"verification": "5/3600"})
    for code in range(5):
        ok(await tenant.send(A, filled(VERIFY, str(code))))
    ok(await tenant.send(B, filled(MARKET)))

    restarted = await make_api()
    again = Tenant(restarted, tenant.customer)
    assert error(await again.send(A, filled(VERIFY, "6"))) == 210
    assert error(await again.send(B, filled(MARKET, "6"))) == 210
    ok(await again.send(C, filled(VERIFY)))
    assert len(await restarted.messages()) == 7


async def test_concurrent_sends_to_one_number_stop_at_the_limit(tenant: Tenant, shop: Account) -> None:
    answers = await asyncio.gather(*(tenant.send(A, filled(VERIFY, str(n))) for n in range(10)))
    assert sorted(a["status"] for a in answers) == ["0"] * 4 + ["210"] * 6
    assert len(await tenant.api.messages()) == 4


# --- opt-out -----------------------------------------------------------------------------------


async def _opt_out(api: Api, account: Account, mobile: str) -> None:
    def insert(conn: sa.Connection) -> None:
        conn.execute(
            sa.insert(optouts).values(account_id=account.id, mobile=mobile, created_at=int(time.time()))
        )

    await api.write(insert)


async def test_marketing_skips_opted_out_numbers(api: Api, tenant: Tenant, shop: Account) -> None:
    await _opt_out(api, shop, A)
    result = ok(await tenant.send(f"{A},{B}", filled(MARKET)))
    assert (result["count"], result["fee"]) == ("1", "1")
    assert result["failed"] == [{"mobile": A, "status": "233", "msg": "号码已退订"}]
    assert [m["mobile"] for m in await api.messages()] == [B]
    assert (await tenant.get_account(shop.id)).usednum == 1


async def test_marketing_to_only_opted_out_numbers_is_233(api: Api, tenant: Tenant, shop: Account) -> None:
    await _opt_out(api, shop, A)
    assert error(await tenant.send(A, filled(MARKET))) == 233
    assert await api.messages() == []
    assert (await tenant.get_account(shop.id)).usednum == 0
    # The refused attempt did not use up the number's marketing allowance (1 a day).
    await api.write(lambda conn: conn.execute(sa.delete(optouts)))
    ok(await tenant.send(A, filled(MARKET)))


async def test_notifications_still_reach_an_opted_out_number(api: Api, tenant: Tenant, shop: Account) -> None:
    await _opt_out(api, shop, A)
    ok(await tenant.send(A, filled(NOTIFY)))
    ok(await tenant.send(A, filled(VERIFY)))
    assert [m["kind"] for m in await api.messages()] == ["notification", "verification"]


async def test_opt_out_belongs_to_one_sub_account(api: Api, tenant: Tenant, shop: Account) -> None:
    other = await tenant.shop("【第二公司】")
    await _opt_out(api, shop, A)
    ok(await tenant.send(A, filled(MARKET).replace("【测试公司】", other.signature)))


async def test_mixed_texts_skip_only_the_marketing_one(api: Api, tenant: Tenant, shop: Account) -> None:
    await _opt_out(api, shop, A)
    await _opt_out(api, shop, B)
    result = ok(await tenant.send(f"{A},{B}", f"{filled(NOTIFY)},,{filled(MARKET)}"))
    assert result["count"] == "1"
    assert result["failed"] == [{"mobile": B, "status": "233", "msg": "号码已退订"}]
    assert [(m["mobile"], m["kind"]) for m in await api.messages()] == [(A, "notification")]
