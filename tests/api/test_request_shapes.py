"""Every shape of request real clients send (multipart fields, declared charsets), and hostile bodies
refused with the envelope before they are decoded."""

from __future__ import annotations

from urllib.parse import quote_from_bytes, urlencode

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.api.http import escape_request_line
from smsplatform.api.params import RawRequest, parse_body, parse_urlencoded
from smsplatform.store.accounts import Account
from tests.api.conftest import NOTIFY, Api, Tenant, envelope, error, filled, ok


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """The wire does not depend on the backend: SQLite only."""
    return sqlite_url


ACCOUNT = {"company": "进制数据", "signature": "【进制数据】", "totalnum": "10"}
TWO_MIB = 2 * 1024 * 1024 - 4096  # under the default body limit, with room for the appkey


def multipart(fields: dict[str, bytes], boundary: bytes = b"----php", files: bool = False) -> bytes:
    parts = []
    for name, value in fields.items():
        disposition = b'form-data; name="' + name.encode() + b'"'
        if files:
            disposition += b'; filename="' + name.encode() + b'.txt"'
        parts.append(
            b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + value + b"\r\n"
        )
    return b"".join(parts) + b"--" + boundary + b"--\r\n"


async def test_multipart_fields_as_php_curl_posts_them(tenant: Tenant, shop: Account) -> None:
    content = filled(NOTIFY)
    body = multipart(
        {"appkey": tenant.appkey.encode(), "mobile": b"13800138000", "content": content.encode()}
    )
    response = await tenant.api.client.post(
        "/sms/send", content=body, headers={"content-type": "multipart/form-data; boundary=----php"}
    )
    assert ok(envelope(response))["count"] == "1"
    assert [m["content"] for m in await tenant.api.messages()] == [content]


async def test_multipart_from_httpx_with_the_appkey_in_the_query(api: Api, tenant: Tenant) -> None:
    files = {name: (None, value) for name, value in ACCOUNT.items()}
    response = await api.client.post("/sms/addaccount", params={"appkey": tenant.appkey}, files=files)
    assert ok(envelope(response))["signature"] == "【进制数据】"


async def test_a_file_part_is_242(api: Api, tenant: Tenant) -> None:
    response = await api.client.post(
        "/sms/addaccount", params={"appkey": tenant.appkey}, files={"company": ("a.txt", b"x", "text/plain")}
    )
    assert envelope(response) == {
        "status": "242",
        "msg": "不接受文件上传，参数须为普通表单字段",
        "result": "",
    }


async def test_a_multipart_part_may_declare_its_charset(api: Api, tenant: Tenant) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="company"\r\n'
        + b"Content-Type: text/plain; charset=gbk\r\n\r\n"
        + "进制数据".encode("gbk")
        + b"\r\n"
        + multipart({"signature": "【进制数据】".encode(), "totalnum": b"1"}, boundary=b"b")
    )
    response = await api.client.post(
        "/sms/addaccount",
        params={"appkey": tenant.appkey},
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert ok(envelope(response))["company"] == "进制数据"


@pytest.mark.parametrize("charset", ["gbk", "GB2312", "gb18030", "utf-8", "UTF8"])
async def test_a_declared_charset_is_honoured_in_a_form_body(
    tenant: Tenant, shop: Account, charset: str
) -> None:
    content = filled(NOTIFY, "“甲乙”")
    codec = {"GB2312": "gbk", "UTF8": "utf-8"}.get(charset, charset)
    body = urlencode({"appkey": tenant.appkey, "mobile": "13800138000", "content": content}, encoding=codec)
    response = await tenant.api.client.post(
        "/sms/send",
        content=body.encode(),
        headers={"content-type": f"application/x-www-form-urlencoded; charset={charset}"},
    )
    assert ok(envelope(response))["count"] == "1"
    assert [m["content"] for m in await tenant.api.messages()] == [content]


async def test_raw_gbk_bytes_in_a_form_body_declared_gbk(api: Api, tenant: Tenant) -> None:
    body = (
        b"appkey="
        + tenant.appkey.encode()
        + "&company=进制数据&signature=【进制数据】&totalnum=1".encode("gbk")
    )
    response = await api.client.post(
        "/sms/addaccount",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded;charset=GBK"},
    )
    assert ok(envelope(response))["signature"] == "【进制数据】"


async def test_a_json_body_declared_gbk(api: Api, tenant: Tenant) -> None:
    body = orjson.dumps({"appkey": tenant.appkey, **ACCOUNT}).decode().encode("gbk")
    response = await api.client.post(
        "/sms/addaccount", content=body, headers={"content-type": "application/json; charset=gbk"}
    )
    assert ok(envelope(response))["company"] == "进制数据"


async def test_a_get_declaring_gbk_reads_its_escaped_query_as_gbk(api: Api, tenant: Tenant) -> None:
    query = urlencode({"appkey": tenant.appkey, **ACCOUNT}, encoding="gbk")
    response = await api.client.get(
        f"/sms/addaccount?{query}", headers={"content-type": "application/x-www-form-urlencoded; charset=gbk"}
    )
    assert ok(envelope(response))["company"] == "进制数据"


async def test_the_latin1_label_of_http_libraries_is_read_as_utf8(api: Api, tenant: Tenant) -> None:
    body = urlencode({"appkey": tenant.appkey, **ACCOUNT}).encode()
    response = await api.client.post(
        "/sms/addaccount",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1"},
    )
    assert ok(envelope(response))["company"] == "进制数据"


async def test_an_unsupported_charset_is_239(api: Api, tenant: Tenant) -> None:
    response = await api.client.post(
        "/sms/addaccount",
        params={"appkey": tenant.appkey},
        content=b"company=x",
        headers={"content-type": "application/x-www-form-urlencoded; charset=utf-16"},
    )
    assert error(envelope(response)) == 239


PART = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
HOSTILE_BODIES = {
    "percent": (b"%" * TWO_MIB, "application/x-www-form-urlencoded"),
    "ampersands": (b"&" * TWO_MIB, "application/x-www-form-urlencoded"),
    "fields": (b"a=1&" * (TWO_MIB // 4), "application/x-www-form-urlencoded"),
    "names": (b"xappkey=" * (TWO_MIB // 8), "application/x-www-form-urlencoded"),
    "parts": (PART * (TWO_MIB // len(PART)) + b"--b--\r\n", "multipart/form-data; boundary=b"),
    "nested": (b'{"a":' * (TWO_MIB // 5), "application/json"),
    "arrays": (b"[" * TWO_MIB, "application/json"),
    "keys": (b"{" + b'"a":1,' * (TWO_MIB // 6) + b'"b":1}', "application/json"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
async def test_a_hostile_body_without_an_appkey_is_101(api: Api, kind: str) -> None:
    body, content_type = HOSTILE_BODIES[kind]
    response = await api.client.post("/sms/send", content=body, headers={"content-type": content_type})
    assert error(envelope(response)) == 101


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
async def test_a_hostile_body_with_an_unknown_appkey_is_101(api: Api, kind: str) -> None:
    body, content_type = HOSTILE_BODIES[kind]
    response = await api.client.post(
        "/sms/send", params={"appkey": "0" * 32}, content=body, headers={"content-type": content_type}
    )
    assert error(envelope(response)) == 101


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
async def test_a_hostile_body_of_a_customer_is_refused_not_sent(
    tenant: Tenant, shop: Account, kind: str
) -> None:
    body, content_type = HOSTILE_BODIES[kind]
    response = await tenant.api.client.post(
        "/sms/send", params={"appkey": tenant.appkey}, content=body, headers={"content-type": content_type}
    )
    assert error(envelope(response))  # refused (235 mostly; a JSON object of one repeated key is read)
    assert await tenant.api.messages() == []


# httpx takes URLs up to 64 KiB: the real socket tests (test_raw_utf8) send longer ones.
HOSTILE_QUERIES = ("%" * 60_000, "&" * 60_000, "a=1&" * 15_000)


async def test_a_hostile_query_without_an_appkey_is_101(api: Api) -> None:
    for query in HOSTILE_QUERIES:
        assert error(envelope(await api.client.get(f"/sms/send?{query}"))) == 101


async def test_a_hostile_query_of_a_customer_is_232(api: Api, tenant: Tenant) -> None:
    for query in HOSTILE_QUERIES:
        response = await api.client.get(f"/sms/send?appkey={tenant.appkey}&{query}")
        assert error(envelope(response)) == 232


async def test_a_body_appkey_wins_over_the_query_appkey(api: Api, tenant: Tenant) -> None:
    response = await api.client.post(
        "/sms/balance", params={"appkey": tenant.appkey}, data={"appkey": "0" * 32, "x": "1"}
    )
    assert error(envelope(response)) == 101


async def test_an_appkey_the_search_and_the_parser_read_differently_is_101(api: Api, tenant: Tenant) -> None:
    # JSON's last repeated key is the parser's; the search finds the first: ambiguous, refused.
    body = f'{{"appkey": "{tenant.appkey}", "appkey": "{"0" * 32}"}}'.encode()
    response = await api.client.post(
        "/sms/balance", content=body, headers={"content-type": "application/json"}
    )
    assert error(envelope(response)) == 101


async def test_an_early_refusal_keeps_the_jsonp_wrapper(api: Api) -> None:
    response = await api.client.post("/sms/balance", data={"appkey": "nope", "callback": "cb"})
    assert response.content == 'cb({"status":"101","msg":"APPKEY为空或不存在","result":""});'.encode()


GBK_TEXT = st.text(alphabet=st.characters(codec="gbk", exclude_categories=("Cs",)), max_size=60)


@given(GBK_TEXT, GBK_TEXT)
def test_any_gbk_text_survives_gbk_form_encoding(name: str, value: str) -> None:
    body = urlencode({"n" + name: value}, encoding="gbk").encode()
    assert parse_body(body, "application/x-www-form-urlencoded; charset=GBK") == {"n" + name: value}


@given(GBK_TEXT)
def test_any_gbk_text_survives_a_raw_gbk_query(value: str) -> None:
    raw = value.encode("gbk").replace(b"%", b"%25").replace(b"&", b"%26").replace(b"+", b"%2B")
    assert parse_urlencoded(b"v=" + raw, "gbk") == {"v": value}


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="&\r\n"), max_size=40), st.data())
def test_a_raw_hash_anywhere_in_a_value_is_kept(text: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(text)))
    value = text[:position] + "#" + text[position:]
    raw = value.encode().replace(b"%", b"%25").replace(b"+", b"%2B")
    line = escape_request_line(b"GET /sms/send?content=" + raw + b"&x=1 HTTP/1.1\r\n")
    target = line.split(b" ")[1]
    assert b"#" not in target
    assert parse_urlencoded(target.partition(b"?")[2]) == {"content": value, "x": "1"}


@given(st.dictionaries(st.sampled_from(["appkey", "callback", "x"]), st.text(max_size=20), max_size=3))
def test_peek_finds_what_the_parser_finds_in_a_form_body(fields: dict[str, str]) -> None:
    body = urlencode(fields).encode()
    request = RawRequest(b"", body, "application/x-www-form-urlencoded")
    decoded = request.params()
    for name in ("appkey", "callback"):
        peeked = request.peek(name)
        if peeked is not None and peeked.isascii():
            assert peeked == decoded[name]
        else:
            assert peeked is None or not decoded[name].isascii()


def test_peek_in_a_multipart_and_a_json_body() -> None:
    body = multipart({"x": b"1", "appkey": b"k1", "callback": b"cb"}, boundary=b"zz")
    request = RawRequest(b"appkey=q", body, "multipart/form-data; boundary=zz")
    assert (request.peek("appkey"), request.peek("callback")) == ("k1", "cb")
    json_request = RawRequest(b"appkey=q", b'{"x": 1, "appkey" : "k2"}', "application/json")
    assert json_request.peek("appkey") == "k2"
    assert RawRequest(b"a=1&appkey=%6B3", b"", "").peek("appkey") == "k3"
    assert RawRequest(b"xappkey=1", b"", "").peek("appkey") is None


def test_escaped_commas_are_decoded_as_fast_as_the_query_is_long() -> None:
    numbers = [f"139{i:08d}" for i in range(5000)]
    raw = quote_from_bytes(",".join(numbers).encode(), safe="").encode()
    assert parse_urlencoded(b"mobile=" + raw) == {"mobile": ",".join(numbers)}


@pytest.mark.parametrize("appkey_first", [True, False])
async def test_the_appkey_of_a_long_body_is_found_at_either_end(
    api: Api, tenant: Tenant, appkey_first: bool
) -> None:
    fields = [("appkey", tenant.appkey), ("pad", "x" * 1_500_000)]
    body = urlencode(fields if appkey_first else fields[::-1]).encode()
    assert len(body) > 1_000_000
    response = await api.client.post(
        "/sms/balance", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert ok(envelope(response)) == []
