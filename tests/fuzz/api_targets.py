"""Fuzz targets for the customer API's input handling: request-line escaping and the parameter reader.

The request line: whatever bytes a client puts in the target of `METHOD SP target SP HTTP/1.x CRLF`
(raw UTF-8, spaces, control characters), the escaped line must be one llhttp accepts, and
percent-decoding what llhttp reports as the URL must give what percent-decoding the raw target gives,
so that escaping never changes a parameter. Any other line must come back without an exception.

The parameter reader (`params.RawRequest`): whatever the query string, body and Content-Type, peeking
at one parameter gives text or None and reading them all gives a dict of str to str, or either raises
the API's own ApiError; nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from urllib.parse import unquote_to_bytes

import httptools

from smsplatform.api import http, params
from smsplatform.api.envelope import ApiError
from tests.fuzz.harness import PropertyViolation, Target

# python-multipart logs each malformed body it meets; here they are the point, not news.
logging.getLogger("python_multipart").setLevel(logging.CRITICAL)

_METHODS = (b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS")
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")


def request_line_of(data: bytes) -> tuple[bytes, bytes]:
    """A request line of the promised shape made from the input, and its target.

    The first octet picks the method and version; the rest, up to the first LF (where the listener
    ends a line), is the target, given the leading slash of an origin-form target when it lacks one.
    """
    head, rest = (data[0], data[1:]) if data else (0, b"")
    target = rest.split(b"\n", 1)[0]
    if not target.startswith(b"/"):
        target = b"/" + target
    method = _METHODS[head % len(_METHODS)]
    version = _VERSIONS[(head // len(_METHODS)) % len(_VERSIONS)]
    return method + b" " + target + b" " + version + b"\r\n", target


class _Url:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def on_url(self, url: bytes) -> None:
        self.parts.append(url)


def check_request_line(data: bytes) -> None:
    http.escape_request_line(data)  # any line at all: no exception
    line, target = request_line_of(data)
    escaped = http.escape_request_line(line)
    url = _Url()
    parser = httptools.HttpRequestParser(url)
    try:
        parser.feed_data(escaped + b"Host: fuzz\r\nContent-Length: 0\r\n\r\n")
    except httptools.HttpParserError as exc:
        raise PropertyViolation(f"llhttp refused the escaped line {escaped!r}: {exc}") from exc
    seen = b"".join(url.parts)
    if unquote_to_bytes(seen) != unquote_to_bytes(target):
        raise PropertyViolation(f"escaping changed the target: {target!r} became {seen!r}")


def request_line_seeds() -> list[bytes]:
    return [
        b"\x00/sms/send?appkey=KEY&mobile=13800138000&content="
        + "【进制数据】您的验证码是1234，5分钟内有效".encode(),
        b"\x01/sms/send?content=a b\tc&x=%E7%94%A8%zz+%",
        b"\x00/p?q=\xff\xfe\x7f\x00\r%%41",
        b"\x00*",
        b"GET /sms/balance?appkey=KEY HTTP/1.1\r\n",
    ]


# The content types a client sends with a body; the first octet of an input picks one.
_CONTENT_TYPES = (
    "",
    "application/x-www-form-urlencoded",
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded; charset=gbk",
    "application/vnd.api+json; charset=gb18030",
    "text/plain",
    'multipart/form-data; boundary="x"',
    "multipart/form-data; boundary=x; charset=GB2312",
    "application/json; charset=unknown",
    "APPLICATION/JSON",
)


def params_input(data: bytes) -> tuple[bytes, bytes, str]:
    """Query string, body and Content-Type from one input: the first octet picks the content type, the
    query runs to the first LF (a request line has none), the body is the rest."""
    head, rest = (data[0], data[1:]) if data else (0, b"")
    query, _, body = rest.partition(b"\n")
    return query, body, _CONTENT_TYPES[head % len(_CONTENT_TYPES)]


def _expect_text_or_api_error(read: Callable[[], object], accept_none: bool = False) -> object:
    try:
        value = read()
    except ApiError:
        return None
    if not (isinstance(value, str) or (accept_none and value is None)):
        raise PropertyViolation(f"the reader gave {value!r}")
    return value


def check_params(data: bytes) -> None:
    """What the API does with a request's parameters: peek at the appkey and callback, then read all."""
    query, body, content_type = params_input(data)
    request = params.RawRequest(query, body, content_type)
    for name in ("appkey", "callback"):
        _expect_text_or_api_error(partial(request.peek, name), accept_none=True)
    try:
        result = request.params()
    except ApiError:
        return
    if not isinstance(result, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in result.items()
    ):
        raise PropertyViolation(f"the reader gave {result!r}, not a dict of str to str")


def params_seeds() -> list[bytes]:
    content = "【进制数据】您好".encode()
    return [
        b"\x00appkey=KEY&mobile=13800138000&content=" + content + b"&x=%E7%94%A8+a&p=5%&callback=cb",
        b"\x01appkey=KEY\nappkey=KEY2&mobile=13800138000&content=%E3%80%90a%E3%80%91&n=%2C%2c",
        b'\x02callback=jQuery_1.x\n{"appkey": "KEY", "mobile": 13800138000, "ismarket": true, "x": null,'
        b' "f": 1.5e3}',
        b'\x03\n{"a": [1, {"b": 2}], "c": "\\u00e9\\ud83d\\ude00"}',
        b"\x04content=" + "您好".encode("gbk") + b"\ncontent=%C4%FA%BA%C3&appkey=K",
        b'\x07appkey=Q\n--x\r\nContent-Disposition: form-data; name="appkey"\r\n\r\nKEY\r\n'
        b'--x\r\nContent-Disposition: form-data; name="content"\r\nContent-Type: text/plain; charset=gbk\r\n'
        b"\r\n"
        + "您好".encode("gbk")
        + b'\r\n--x\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n'
        b"\r\n1\r\n--x--\r\n",
        b"\x08\n--x\r\nContent-Disposition: form-data; name=appkey\r\n\r\nKEY\r\n--x\r\n"
        b"Content-Disposition: form-data; name=content\r\n\r\n" + "您好".encode("gbk") + b"\r\n--x--\r\n",
        b"\x02\n" + b'{"a":' * 40 + b"1" + b"}" * 40,
        b"\x09appkey=K\n{}",
    ]


def request_line_large() -> list[bytes]:
    """Targets of a 5,000-number GET and beyond: raw UTF-8, spaces, percent signs."""
    room = 64 * 1024 - 1
    runs = ("用".encode(), b" ", b"%", b"\t%E7", b"/?a= b&")
    return [b"\x00" + (run * (room // len(run)))[:room] for run in runs]


def params_large() -> list[bytes]:
    """Long and deeply nested bodies of every content type, and long query strings."""
    room = 64 * 1024 - 1
    runs = (b"[", b'{"a":', b"%", b"&", b"a=%E7&", b"+", b"=", b'{"a":"' + b"\\u00e9" * 8000 + b'"}')
    return [
        bytes((head,)) + separator + (run * (room // len(run)))[: room - 1]
        for head in range(len(_CONTENT_TYPES))
        for run in runs
        for separator in (b"", b"\n")
    ]


REQUEST_LINE = Target(
    "request_line",
    check_request_line,
    request_line_seeds,
    "escape_request_line, checked with llhttp",
    request_line_large,
)
PARAMS = Target(
    "params", check_params, params_seeds, "parameter reader: query strings and bodies", params_large
)

API_TARGETS = (REQUEST_LINE, PARAMS)
