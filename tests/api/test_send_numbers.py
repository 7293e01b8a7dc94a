"""`/sms/send` numbers: spellings, batch sizes, one text per number, carriers and pins (SPEC §4.1, §5.7)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsplatform.store import routing
from smsplatform.store.accounts import Account
from tests.api.conftest import MARKET, NOTIFY, SIGNATURE, Api, Tenant, error, filled, ok

TEXT = "您的订单8已发货，请注意查收"


async def test_country_code_spellings_are_normalised(tenant: Tenant, shop: Account) -> None:
    result = ok(
        await tenant.send("+8613800138001, 8613800138002 ,008613800138003,13800138004", filled(NOTIFY))
    )
    assert result["count"] == "4"
    assert [m["mobile"] for m in await tenant.api.messages()] == [
        "13800138001",
        "13800138002",
        "13800138003",
        "13800138004",
    ]


async def test_raw_plus_in_a_query_string_is_a_space_and_still_accepted(
    tenant: Tenant, shop: Account
) -> None:
    url = f"/sms/send?appkey={tenant.appkey}&mobile=+8613800138001&content={filled(NOTIFY)}"
    response = await tenant.api.client.get(url)
    assert ok(response.json())["count"] == "1"
    assert [m["mobile"] for m in await tenant.api.messages()] == ["13800138001"]


async def test_invalid_numbers_are_skipped_and_listed(tenant: Tenant, shop: Account) -> None:
    result = ok(await tenant.send("13800138001,12345,138001380021,+8513800138003,,", filled(NOTIFY)))
    assert (result["count"], result["fee"]) == ("1", "1")
    assert result["failed"] == [
        {"mobile": mobile, "status": "202", "msg": "手机号有误"}
        for mobile in ("12345", "138001380021", "+8513800138003")
    ]
    assert [m["mobile"] for m in await tenant.api.messages()] == ["13800138001"]


async def test_no_valid_number_is_the_first_ones_error(tenant: Tenant, shop: Account) -> None:
    assert error(await tenant.send("12345,abc", filled(NOTIFY))) == 202
    assert error(await tenant.send("1' OR '1'='1", filled(NOTIFY))) == 202
    for empty in ("", " ", ",", " , ,"):
        assert error(await tenant.send(empty, filled(NOTIFY))) == 201
    assert error(await tenant.call("send", {"content": filled(NOTIFY)})) == 201
    assert await tenant.api.messages() == []


VALID = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
SPELLING = st.sampled_from(["", "86", "0086", "+86"])
PADDING = st.sampled_from(["", " ", "  ", "\t"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mobile=VALID, prefix=SPELLING, before=PADDING, after=PADDING)
async def test_any_valid_spelling_is_accepted_and_normalised(
    api: Api, tenant: Tenant, free: Account, mobile: str, prefix: str, before: str, after: str
) -> None:
    result = ok(await tenant.send(f"{before}{prefix}{mobile}{after}", "通知" + SIGNATURE))
    sent = [m for m in await api.messages() if m["send_id"] == int(result["msgid"])]
    assert [m["mobile"] for m in sent] == [mobile]


# --- batch sizes -------------------------------------------------------------------------------


def numbers(count: int, start: int = 0) -> str:
    return ",".join(f"139{start + i:08d}" for i in range(count))


async def test_5000_marketing_numbers_in_one_request(tenant: Tenant, shop: Account) -> None:
    result = ok(await tenant.send(numbers(5000), filled(MARKET)))
    assert (result["count"], result["fee"]) == ("5000", "5000")
    assert len(await tenant.api.messages()) == 5000
    assert (await tenant.get_account(shop.id)).usednum == 5000


async def test_the_messages_of_a_long_send_are_stored_in_request_order(tenant: Tenant, shop: Account) -> None:
    wanted = [f"139{(i * 7919) % 100_000:08d}" for i in range(1_299)]
    result = ok(await tenant.send(",".join(wanted), filled(MARKET)))
    stored = await tenant.api.messages()
    assert [m["mobile"] for m in stored] == wanted
    assert {m["send_id"] for m in stored} == {int(result["msgid"])}


async def test_5001_numbers_is_230_and_nothing_is_stored(tenant: Tenant, shop: Account) -> None:
    assert error(await tenant.send(numbers(5001), filled(MARKET))) == 230
    assert error(await tenant.send(numbers(10_000), filled(MARKET))) == 230
    assert await tenant.api.messages() == []
    assert (await tenant.get_account(shop.id)).usednum == 0


async def test_200_notification_numbers_but_not_201(tenant: Tenant, shop: Account) -> None:
    assert error(await tenant.send(numbers(201), filled(NOTIFY))) == 230
    assert await tenant.api.messages() == []
    assert ok(await tenant.send(numbers(200), filled(NOTIFY)))["count"] == "200"


async def test_one_text_per_number(tenant: Tenant, shop: Account) -> None:
    contents = [filled(NOTIFY, "A1"), filled(NOTIFY, "B2"), filled(MARKET, "9")]
    result = ok(await tenant.send("13800138001,13800138002,13800138003", ",,".join(contents)))
    assert (result["count"], result["fee"]) == ("3", "3")
    stored = [(m["mobile"], m["content"], m["kind"]) for m in await tenant.api.messages()]
    assert stored == [
        ("13800138001", contents[0], "notification"),
        ("13800138002", contents[1], "notification"),
        ("13800138003", contents[2], "marketing"),
    ]


async def test_one_text_per_number_needs_the_same_count(tenant: Tenant, shop: Account) -> None:
    two = f"{filled(NOTIFY)},,{filled(NOTIFY)}"
    assert error(await tenant.send("13800138001,13800138002,13800138003", two)) == 231
    assert error(await tenant.send("13800138001", two)) == 231
    assert error(await tenant.send("13800138001,13800138002", f"{filled(NOTIFY)},,")) == 203
    assert await tenant.api.messages() == []


async def test_at_most_200_texts_per_request_even_for_marketing(tenant: Tenant, shop: Account) -> None:
    assert error(await tenant.send(numbers(201), ",,".join([filled(MARKET)] * 201))) == 230
    assert ok(await tenant.send(numbers(200), ",,".join([filled(MARKET)] * 200)))["count"] == "200"


async def test_a_text_that_fails_fails_the_request(tenant: Tenant, shop: Account) -> None:
    contents = f"{filled(NOTIFY)},,没有这个模板{SIGNATURE}"
    assert error(await tenant.send("13800138001,13800138002", contents)) == 207
    assert await tenant.api.messages() == []


# --- carriers ----------------------------------------------------------------------------------


async def test_carrier_comes_from_the_prefix_table(tenant: Tenant, shop: Account) -> None:
    mobiles = ["13800138000", "13000000000", "13300000000", "19200000000", "13490000000", "17040000000"]
    ok(await tenant.send(",".join(mobiles), filled(NOTIFY)))
    carriers = {m["mobile"]: m["carrier"] for m in await tenant.api.messages()}
    assert carriers == {
        "13800138000": "mobile",
        "13000000000": "unicom",
        "13300000000": "telecom",
        "19200000000": "broadnet",
        "13490000000": "telecom",
        "17040000000": "unicom",
    }


async def test_pins_and_operator_prefixes_win(api: Api, tenant: Tenant, shop: Account) -> None:
    await api.write(routing.set_pin, "13800138000", "telecom")
    await api.write(routing.set_prefix, "1390013", "unicom")
    ok(await tenant.send("13800138000,13900149000,13900130000,13800138001", filled(NOTIFY)))
    carriers = {m["mobile"]: m["carrier"] for m in await api.messages()}
    assert carriers == {
        "13800138000": "telecom",
        "13900149000": "mobile",
        "13900130000": "unicom",
        "13800138001": "mobile",
    }
