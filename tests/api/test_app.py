"""The routes: every endpoint on GET and POST, 404 for what is not an API call, 220 for a handler's bug."""

from __future__ import annotations

import logging
import string
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsplatform.api import app as api_app
from smsplatform.api.context import ApiContext, Call
from smsplatform.store.accounts import Account
from tests.api.conftest import NOTIFY, Api, ApiFactory, Tenant, envelope, error, filled, ok


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """The wire does not depend on the backend: SQLite only."""
    return sqlite_url


# What each endpoint answers when called with nothing but a valid appkey: proof the handler ran.
BARE_CALL_ANSWERS = {
    "send": "201",
    "balance": "0",
    "blackword": "0",
    "addaccount": "214",
    "editaccount": "218",
    "accountlist": "0",
    "addtemplate": "218",
    "edittemplate": "218",
    "templatelist": "218",
    "templatedetail": "207",
}


def test_the_ten_endpoints_are_served() -> None:
    assert set(BARE_CALL_ANSWERS) <= set(api_app.ENDPOINTS)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_every_endpoint_answers_get_and_post(tenant: Tenant, method: str) -> None:
    answers = {
        endpoint: (await tenant.call(endpoint, method=method))["status"] for endpoint in BARE_CALL_ANSWERS
    }
    assert answers == BARE_CALL_ANSWERS


async def test_appkey_in_the_query_of_a_post(api: Api, tenant: Tenant) -> None:
    response = await api.client.post("/sms/balance", params={"appkey": tenant.appkey}, data={"x": "1"})
    assert ok(envelope(response)) == []


async def test_what_is_not_an_api_call_is_404(api: Api, tenant: Tenant) -> None:
    for path in ["/sms", "/send", "/", "/SMS/send", "/smssend"]:
        response = await api.client.get(path, params={"appkey": tenant.appkey})
        assert response.status_code == 404, path


async def test_an_unknown_endpoint_under_sms_gets_the_envelope_with_240(api: Api, tenant: Tenant) -> None:
    for path in ["/sms/nosuch", "/sms/", "/sms/send/extra", "/sms/Send", "/sms/发送"]:
        for method in ("GET", "POST", "PUT"):
            response = await api.client.request(method, path, params={"appkey": tenant.appkey})
            assert response.status_code == 200, (method, path)
            assert response.headers["content-type"] == "application/json; charset=utf-8"
            assert response.json() == {"status": "240", "msg": "接口不存在", "result": ""}, (method, path)


async def test_an_unknown_endpoint_keeps_the_jsonp_wrapper(api: Api) -> None:
    response = await api.client.get("/sms/nosuch", params={"callback": "cb"})
    assert response.content == 'cb({"status":"240","msg":"接口不存在","result":""});'.encode()
    bad = await api.client.get("/sms/nosuch", params={"callback": "alert(1)//"})
    assert b"alert" not in bad.content and envelope(bad)["status"] == "240"


async def test_other_methods_are_refused_without_running_the_call(api: Api, tenant: Tenant) -> None:
    await tenant.shop()
    params = {"appkey": tenant.appkey, "mobile": "13800138000", "content": filled(NOTIFY)}
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"]:
        response = await api.client.request(method, "/sms/send", params=params)
        assert response.status_code == 200, method
        assert envelope(response) == {"status": "241", "msg": "请求方法不支持，请使用GET或POST", "result": ""}
    head = await api.client.head("/sms/send", params=params)
    assert head.status_code == 200
    assert await api.messages() == []


async def test_a_handler_exception_answers_220_and_is_logged(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(ctx: ApiContext, call: Call) -> Any:
        raise RuntimeError("bug in the handler")

    monkeypatch.setitem(api_app.ENDPOINTS, "balance", broken)
    api = await make_api()
    tenant = await api.customer()
    with caplog.at_level(logging.ERROR, logger="smsplatform.api.app"):
        response = await api.client.get("/sms/balance", params={"appkey": tenant.appkey})
    assert response.content == '{"status":"220","msg":"未知错误","result":""}'.encode()
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert any("bug in the handler" in (r.exc_text or "") for r in caplog.records)


async def test_a_handler_exception_keeps_the_jsonp_wrapper(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ctx: ApiContext, call: Call) -> Any:
        raise ValueError("bug")

    monkeypatch.setitem(api_app.ENDPOINTS, "blackword", broken)
    api = await make_api()
    tenant = await api.customer()
    response = await api.client.get("/sms/blackword", params={"appkey": tenant.appkey, "callback": "cb"})
    assert response.content == 'cb({"status":"220","msg":"未知错误","result":""});'.encode()


async def test_health_probe(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "0"


async def test_openapi_document_lists_every_endpoint_on_both_methods(api: Api) -> None:
    response = await api.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for endpoint in BARE_CALL_ANSWERS:
        assert set(paths[f"/sms/{endpoint}"]) == {"get", "post"}


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    [
        "'; DROP TABLE accounts;--",
        "【】",
        "【测试公司】",
        ",,",
        "@",
        "0",
        "1",
        "-1",
        "99999999999999",
        "\x00",
        "13800138000",
        "9999-12-31",
        "2024-02-30",
    ]
)
PARAM_NAMES = st.sampled_from(
    [
        "mobile",
        "content",
        "company",
        "signature",
        "totalnum",
        "accountid",
        "templateid",
        "name",
        "ismarket",
        "pagenum",
        "pagesize",
        "requestid",
        "statusurl",
        "callback",
        "appkey",
        "msgid",
        "date",
    ]
)
ASCII_NAME = st.text(alphabet=string.ascii_letters, min_size=1, max_size=10)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(sorted(api_app.ENDPOINTS)),
    params=st.dictionaries(PARAM_NAMES | ASCII_NAME, TEXT, max_size=6),
    as_json=st.booleans(),
)
async def test_any_parameters_get_an_envelope_never_a_bug(
    api: Api, tenant: Tenant, shop: Account, endpoint: str, params: dict[str, str], as_json: bool
) -> None:
    params.setdefault("appkey", tenant.appkey)
    if as_json:
        response = await api.client.post(f"/sms/{endpoint}", content=orjson.dumps(params))
    else:
        response = await api.client.post(f"/sms/{endpoint}", data=params)
    assert response.status_code == 200
    body = response.content
    if body.startswith(b"{"):
        answer = envelope(response)
        assert answer["status"] != "220", (endpoint, params, answer)
    else:  # JSONP with a valid callback name
        assert response.headers["content-type"] == "application/javascript; charset=utf-8"
        name = params["callback"]
        assert body.startswith(name.encode() + b"(") and body.endswith(b");")
        inner = orjson.loads(body[len(name) + 1 : -2])
        assert list(inner) == ["status", "msg", "result"]
        assert inner["status"] != "220"


async def test_two_customers_keys_do_not_mix(api: Api) -> None:
    first, second = await api.customer(), await api.customer()
    await first.account("【甲公司】")
    assert [a["company"] for a in ok(await first.call("balance"))] == ["测试公司"]
    assert ok(await second.call("balance")) == []
    assert error(await api.call("balance", {"appkey": first.appkey + "x"})) == 101
