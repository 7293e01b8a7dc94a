"""Parameters as real clients send them: query, form or JSON body, `+` for space, raw bytes, sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from smsplatform.api.envelope import ApiError
from smsplatform.api.params import parse_body, parse_urlencoded
from smsplatform.store.accounts import Account
from tests.api.conftest import NOTIFY, Api, ApiFactory, Tenant, envelope, error, filled, ok


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """The wire does not depend on the backend: SQLite only."""
    return sqlite_url


ACCOUNT = {"company": "进制数据", "signature": "【进制数据】", "totalnum": "10"}


async def test_query_string(api: Api, tenant: Tenant) -> None:
    response = await api.client.get("/sms/addaccount", params={"appkey": tenant.appkey, **ACCOUNT})
    assert ok(envelope(response))["signature"] == "【进制数据】"


async def test_form_body(api: Api, tenant: Tenant) -> None:
    response = await api.client.post("/sms/addaccount", data={"appkey": tenant.appkey, **ACCOUNT})
    assert ok(envelope(response))["company"] == "进制数据"


async def test_form_body_with_charset(api: Api, tenant: Tenant) -> None:
    body = "&".join(f"{k}={v}" for k, v in {"appkey": tenant.appkey, **ACCOUNT}.items()).encode()
    response = await api.client.post(
        "/sms/addaccount",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )
    assert ok(envelope(response))["signature"] == "【进制数据】"


async def test_json_body(api: Api, tenant: Tenant) -> None:
    response = await api.client.post("/sms/addaccount", json={"appkey": tenant.appkey, **ACCOUNT})
    assert ok(envelope(response))["totalnum"] == "10"


async def test_json_numbers_and_nulls_are_parameters_too(api: Api, tenant: Tenant) -> None:
    response = await api.client.post(
        "/sms/addaccount",
        json={"appkey": tenant.appkey, **ACCOUNT, "totalnum": 10, "statusurl": None},
    )
    result = ok(envelope(response))
    assert (result["totalnum"], result["statusurl"]) == ("10", "")


async def test_json_body_without_content_type(api: Api, tenant: Tenant) -> None:
    body = orjson.dumps({"appkey": tenant.appkey, **ACCOUNT})
    response = await api.client.post("/sms/addaccount", content=body, headers={"content-type": ""})
    assert ok(envelope(response))["signature"] == "【进制数据】"


async def test_appkey_in_query_rest_in_json_body(api: Api, tenant: Tenant) -> None:
    response = await api.client.post("/sms/addaccount", params={"appkey": tenant.appkey}, json=ACCOUNT)
    assert ok(envelope(response))["signature"] == "【进制数据】"


@pytest.mark.parametrize("as_json", [False, True])
async def test_body_wins_over_query(api: Api, tenant: Tenant, as_json: bool) -> None:
    query = {"appkey": "wrong", **ACCOUNT, "company": "查询"}
    body = {"appkey": tenant.appkey, "company": "正文"}
    if as_json:
        response = await api.client.post("/sms/addaccount", params=query, json=body)
    else:
        response = await api.client.post("/sms/addaccount", params=query, data=body)
    assert ok(envelope(response))["company"] == "正文"


async def test_plus_is_a_space_and_percent_2b_a_plus(api: Api, tenant: Tenant) -> None:
    signature = "%E3%80%90AcmeCo%E3%80%91"  # 【AcmeCo】
    url = f"/sms/addaccount?appkey={tenant.appkey}&company=Acme+Co%2B1&signature={signature}&totalnum=1"
    result = ok(envelope(await api.client.get(url)))
    assert (result["company"], result["signature"]) == ("Acme Co+1", "【AcmeCo】")


async def test_plus_is_a_space_in_a_form_body(api: Api, tenant: Tenant) -> None:
    body = f"appkey={tenant.appkey}&company=A+B&signature=%E3%80%90AB%E3%80%91&totalnum=1".encode()
    response = await api.client.post(
        "/sms/addaccount", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert ok(envelope(response))["company"] == "A B"


async def test_plus_stays_a_plus_in_json(tenant: Tenant, shop: Account) -> None:
    response = await tenant.api.client.post(
        "/sms/send",
        json={"appkey": tenant.appkey, "mobile": "+8613800138000", "content": filled(NOTIFY)},
    )
    assert ok(envelope(response))["count"] == "1"
    assert [m["mobile"] for m in await tenant.api.messages()] == ["13800138000"]


async def test_the_first_of_repeated_parameters_wins(api: Api, tenant: Tenant) -> None:
    rest = "signature=%E3%80%90AB%E3%80%91&totalnum=1"
    url = f"/sms/addaccount?appkey={tenant.appkey}&company=first&company=second&{rest}"
    assert ok(envelope(await api.client.get(url)))["company"] == "first"


@pytest.mark.parametrize("query", ["company=%FF%FE", "%C3=1", "company=%E7%94"])
async def test_undeclared_bytes_that_are_not_utf8_in_the_query_are_239(
    api: Api, tenant: Tenant, query: str
) -> None:
    response = await api.client.get(f"/sms/addaccount?appkey={tenant.appkey}&{query}")
    assert envelope(response) == {
        "status": "239",
        "msg": "请求文本须为UTF-8编码，或在Content-Type中声明charset",
        "result": "",
    }


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"company=\xff\xfe", "application/x-www-form-urlencoded"),
        (b"company=%FF", "application/x-www-form-urlencoded"),
        ("company=短信".encode("gbk"), "application/x-www-form-urlencoded"),
        (b'{"company": "\xff"}', "application/json"),
        (b"company=%B6%CC", "application/x-www-form-urlencoded; charset=koi8-r"),
        (b"company=%81", "application/x-www-form-urlencoded; charset=gbk"),
        (
            b'--x\r\nContent-Disposition: form-data; name="company"\r\n\r\n\xb6\xcc\r\n--x--\r\n',
            "multipart/form-data; boundary=x",
        ),
    ],
)
async def test_bodies_not_in_utf8_nor_their_declared_charset_are_239(
    api: Api, tenant: Tenant, body: bytes, content_type: str
) -> None:
    response = await api.client.post(
        "/sms/addaccount",
        params={"appkey": tenant.appkey},
        content=body,
        headers={"content-type": content_type},
    )
    assert error(envelope(response)) == 239


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"company": ', "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"company": {"nested": 1}}', "application/json"),
        (b'{"company": ["a"]}', "application/json"),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\n1\r\n--x--", "multipart/form-data; boundary=x"),
    ],
)
async def test_bad_bodies_are_235(api: Api, tenant: Tenant, body: bytes, content_type: str) -> None:
    response = await api.client.post(
        "/sms/addaccount",
        params={"appkey": tenant.appkey},
        content=body,
        headers={"content-type": content_type},
    )
    assert error(envelope(response)) == 235


async def test_oversized_body_is_235_and_nothing_happens(make_api: ApiFactory) -> None:
    api = await make_api(max_body_bytes=1000)
    tenant = await api.customer()
    await tenant.shop()
    body = {"appkey": tenant.appkey, "mobile": ",".join(["13800138000"] * 100), "content": filled(NOTIFY)}
    response = await api.client.post("/sms/send", data=body)
    assert error(envelope(response)) == 235
    assert await api.messages() == []
    small = await api.client.post("/sms/balance", data={"appkey": tenant.appkey, "pad": "x" * 900})
    assert ok(envelope(small))


async def test_oversized_streamed_body_without_length_is_235(make_api: ApiFactory) -> None:
    api = await make_api(max_body_bytes=1000)
    tenant = await api.customer()

    async def chunks() -> AsyncIterator[bytes]:
        yield f"appkey={tenant.appkey}&pad=".encode()
        for _ in range(10):
            yield b"x" * 200

    response = await api.client.post(
        "/sms/balance", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert "content-length" not in response.request.headers
    assert error(envelope(response)) == 235


async def test_a_get_body_is_ignored(api: Api, tenant: Tenant) -> None:
    response = await api.client.request(
        "GET", "/sms/balance", params={"appkey": tenant.appkey}, content=b"appkey=wrong"
    )
    assert ok(envelope(response)) == []


def test_parse_urlencoded_decodes_names_and_values() -> None:
    assert parse_urlencoded(b"a=1&b=%E4%BD%A0+%2B&&c&=x&d=") == {
        "a": "1",
        "b": "你 +",
        "c": "",
        "": "x",
        "d": "",
    }


def test_parse_urlencoded_accepts_raw_utf8_bytes() -> None:
    assert parse_urlencoded("content=用户您好。【进制数据】".encode()) == {
        "content": "用户您好。【进制数据】"
    }


def test_parse_urlencoded_refuses_invalid_utf8() -> None:
    with pytest.raises(ApiError) as raised:
        parse_urlencoded(b"a=\xc3")
    assert raised.value.code == 239


def test_parse_body_json_scalars() -> None:
    parsed = parse_body(b'{"a": 1, "b": true, "c": false, "d": null, "e": "x", "f": 1.5}', "application/json")
    assert parsed == {"a": "1", "b": "1", "c": "0", "d": "", "e": "x", "f": "1.5"}


def test_parse_body_blank_is_empty() -> None:
    assert parse_body(b"  \r\n", "application/json") == {}
