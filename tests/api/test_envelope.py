"""The answer's shape: key order, strings for numbers, the status-as-integer setting, JSONP."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from smsplatform.api.envelope import envelope_bytes, stringify
from smsplatform.store.accounts import Account
from tests.api.conftest import NOTIFY, Api, ApiFactory, Tenant, envelope, filled, ok


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """The wire does not depend on the backend: SQLite only."""
    return sqlite_url


JSON_TYPE = "application/json; charset=utf-8"
JSONP_TYPE = "application/javascript; charset=utf-8"


def _numbers_in(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers_in(v)]
    return [value] if isinstance(value, int | float) else []


async def test_success_starts_with_status_msg_result_in_that_order(tenant: Tenant, shop: Account) -> None:
    response = await tenant.api.client.get("/sms/balance", params={"appkey": tenant.appkey})
    assert response.headers["content-type"] == JSON_TYPE
    assert response.content.startswith(b'{"status":"0","msg":"ok","result":[{"accountid":"')


async def test_error_is_exactly_code_message_and_empty_result(api: Api) -> None:
    response = await api.client.get("/sms/balance")
    assert response.status_code == 200
    assert response.content == '{"status":"101","msg":"APPKEY为空或不存在","result":""}'.encode()


async def test_every_number_in_every_result_is_a_string(tenant: Tenant, shop: Account) -> None:
    sent = ok(await tenant.send("13800138000,123", filled(NOTIFY)))
    template_id = ok(await tenant.call("templatelist", {"accountid": str(shop.id)}))["list"][0]["templateid"]
    answers = [
        sent,
        ok(await tenant.call("balance")),
        ok(await tenant.call("accountlist")),
        ok(await tenant.call("templatelist", {"accountid": str(shop.id)})),
        ok(await tenant.call("templatedetail", {"templateid": template_id})),
        ok(await tenant.call("addaccount", {"company": "乙", "signature": "【乙公司】", "totalnum": "5"})),
        ok(await tenant.call("editaccount", {"accountid": str(shop.id), "totalnum": "9000"})),
        ok(
            await tenant.call(
                "addtemplate", {"accountid": str(shop.id), "name": "n", "content": "您好@", "ismarket": "0"}
            )
        ),
    ]
    for answer in answers:
        assert _numbers_in(answer) == [], answer
    assert sent["failed"] == [{"mobile": "123", "status": "202", "msg": "手机号有误"}]


async def test_status_as_integer_setting(make_api: ApiFactory) -> None:
    api = await make_api(status_as_int=True)
    tenant = await api.customer()
    good = await api.client.get("/sms/balance", params={"appkey": tenant.appkey})
    assert good.content == b'{"status":0,"msg":"ok","result":[]}'
    bad = await api.client.get("/sms/balance")
    assert bad.content.startswith(b'{"status":101,"msg":')
    wrapped = await api.client.get("/sms/balance", params={"appkey": tenant.appkey, "callback": "cb"})
    assert wrapped.content == b'cb({"status":0,"msg":"ok","result":[]});'


async def test_status_is_a_string_by_default(tenant: Tenant) -> None:
    response = await tenant.api.client.get("/sms/balance", params={"appkey": tenant.appkey})
    assert orjson.loads(response.content)["status"] == "0"


@pytest.mark.parametrize("name", ["cb", "jQuery1124_1511111111", "$", "_", "a.b.c", "x" * 64])
async def test_jsonp_wraps_the_envelope(tenant: Tenant, name: str) -> None:
    response = await tenant.api.client.get("/sms/balance", params={"appkey": tenant.appkey, "callback": name})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSONP_TYPE
    assert response.content == name.encode() + b'({"status":"0","msg":"ok","result":[]});'


async def test_jsonp_wraps_errors_too(api: Api) -> None:
    response = await api.client.get("/sms/balance", params={"callback": "cb"})
    assert response.headers["content-type"] == JSONP_TYPE
    assert response.content == 'cb({"status":"101","msg":"APPKEY为空或不存在","result":""});'.encode()


async def test_jsonp_callback_from_a_post_body(tenant: Tenant) -> None:
    response = await tenant.api.client.post("/sms/balance", data={"appkey": tenant.appkey, "callback": "cb"})
    assert response.content.startswith(b"cb({")


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "alert(1);cb",
        "1cb",
        "x" * 65,
        "cb()",
        "a-b",
        "回调",
        "cb\n",
        "cb;",
        "cb//",
    ],
)
async def test_invalid_callback_gets_plain_json_236_never_echoed(tenant: Tenant, name: str) -> None:
    response = await tenant.api.client.get("/sms/balance", params={"appkey": tenant.appkey, "callback": name})
    assert response.headers["content-type"] == JSON_TYPE
    answer = envelope(response)
    assert answer["status"] == "236"
    assert answer["result"] == ""
    assert name.encode() not in response.content


async def test_invalid_callback_does_not_send(tenant: Tenant, shop: Account) -> None:
    # The client cannot read the answer, so nothing may have happened: it would retry and send twice.
    response = await tenant.api.client.post(
        "/sms/send",
        data={
            "appkey": tenant.appkey,
            "mobile": "13800138000",
            "content": filled(NOTIFY),
            "callback": "<script>",
        },
    )
    assert envelope(response)["status"] == "236"
    assert await tenant.api.messages() == []
    assert (await tenant.get_account(shop.id)).usednum == 0


async def test_empty_callback_is_no_callback(tenant: Tenant) -> None:
    response = await tenant.api.client.get("/sms/balance", params={"appkey": tenant.appkey, "callback": ""})
    assert ok(envelope(response)) == []


def test_stringify_renders_numbers_and_booleans_as_strings() -> None:
    assert stringify({"a": 1, "b": [2, 3.5, True, False], "c": None, "d": "x"}) == {
        "a": "1",
        "b": ["2", "3.5", "1", "0"],
        "c": None,
        "d": "x",
    }


def test_envelope_bytes_key_order_and_unescaped_chinese() -> None:
    assert envelope_bytes(205, "") == '{"status":"205","msg":"签名不存在","result":""}'.encode()
    assert envelope_bytes(0, {"x": "1"}, msg="ignored") == b'{"status":"0","msg":"ok","result":{"x":"1"}}'
