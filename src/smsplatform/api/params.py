"""Reading parameters the way real clients send them, and cheaply until the caller is known.

Parameters come from the query string and from an `application/x-www-form-urlencoded`,
`multipart/form-data` or JSON object body; a body value wins over the query. A charset declared in
Content-Type (utf-8, gbk, gb2312, gb18030) applies to the whole request, its query string included;
undeclared bytes must be UTF-8 (239 otherwise). Clients send raw, un-percent-encoded UTF-8 (Chinese
text, 【】) in the query string and `+` for space, so the query is decoded by hand from its raw bytes;
bodies are split by python-multipart's parsers and orjson.

Cost before trust: `RawRequest.peek` finds one parameter (the appkey, the JSONP callback) with a
bounded byte search (the query, and the first and last PEEK_WINDOW bytes of the body), decoding nothing
else, so that a request from no customer is refused for the price of reading it. Only
`RawRequest.params`, called once the appkey is known, decodes it all, and it first refuses what no real
call can be (more than MAX_FIELDS parameters, thousands of stray `%`).
"""

from __future__ import annotations

import re
from codecs import escape_decode
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header
from starlette.types import Receive, Scope

from smsplatform.api.codes import BODY_INVALID, ENCODING_INVALID, FILE_NOT_ACCEPTED, INVALID_PARAMETER
from smsplatform.api.envelope import ApiError

# No call of this API has more than a few dozen parameters: more than this is refused before decoding.
MAX_FIELDS = 1000
# `%` not followed by two hex digits is kept as it is (clients write "5%" raw); a value with more
# than this many is no parameter of this API, and is refused before the slow path decodes it.
MAX_STRAY_PERCENT = 1000
# A peeked value longer than this is no appkey and no callback name: it is not even decoded.
_MAX_PEEKED = 256
# Occurrences of a parameter's name that are not the parameter (inside another value) looked past.
_MAX_FALSE_HITS = 16
# A peek searches the head and the tail of a body this long: real clients put the appkey first or
# last, and the only long values (numbers, contents) cannot surround it by more than this on both sides.
PEEK_WINDOW = 128 * 1024

# Declared charsets and the codec that reads them. GB2312 is read as GBK, its superset: clients that
# declare GB2312 send GBK's extra characters too. ISO-8859-1 and US-ASCII are labels some HTTP
# libraries add by default to bodies they percent-encode as UTF-8: those are read as UTF-8.
CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "gbk": "gbk",
    "gb2312": "gbk",
    "cp936": "gbk",
    "gb18030": "gb18030",
    "iso-8859-1": "utf-8",
    "latin1": "utf-8",
    "us-ascii": "utf-8",
}

_STRAY_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def charset_codec(declared: str) -> str | None:
    """The codec for a charset named in Content-Type (UTF-8 when none is); None when not supported."""
    if not declared:
        return "utf-8"
    return CHARSETS.get(declared.strip().strip('"').lower())


def _mend_stray_percents(raw: bytes, too_many: int) -> bytes:
    """`%` signs that start no escape become `%25`, so that every `%` left is a valid escape."""
    if b"%" not in raw:
        return raw
    mended, stray = _STRAY_PERCENT.subn(b"%25", raw, count=MAX_STRAY_PERCENT + 1)
    if stray > MAX_STRAY_PERCENT:
        raise ApiError(too_many)
    return mended


def _unescape(value: bytes) -> bytes:
    """Percent-decoding of a value whose `%` signs all start an escape, `+` being a space; in C, so that
    5,000 numbers joined by `%2C` cost what their length costs."""
    value = value.replace(b"+", b" ")
    if b"%" not in value:
        return value
    return escape_decode(value.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]


def _text(raw: bytes, codec: str) -> str:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise ApiError(ENCODING_INVALID) from exc


def parse_urlencoded(raw: bytes, codec: str = "utf-8") -> dict[str, str]:
    """Decodes a query string `a=1&b=2` by hand (raw UTF-8 allowed); `+` is a space. The first
    occurrence of a name wins."""
    if raw.count(b"&") > MAX_FIELDS:
        raise ApiError(INVALID_PARAMETER)
    raw = _mend_stray_percents(raw, INVALID_PARAMETER)
    values: dict[str, str] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        values.setdefault(_text(_unescape(name), codec), _text(_unescape(value), codec))
    return values


class _FormFields:
    """Callbacks of python-multipart's QuerystringParser: fields of an urlencoded body."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.values: dict[str, str] = {}
        self._name = bytearray()
        self._value = bytearray()

    def start(self) -> None:
        self._name.clear()
        self._value.clear()

    def name(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def data(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def end(self) -> None:
        name = _text(_unescape(bytes(self._name)), self.codec)
        self.values.setdefault(name, _text(_unescape(bytes(self._value)), self.codec))


def parse_form(body: bytes, codec: str) -> dict[str, str]:
    if body.count(b"&") > MAX_FIELDS:
        raise ApiError(BODY_INVALID)
    fields = _FormFields(codec)
    parser = QuerystringParser(
        {
            "on_field_start": fields.start,
            "on_field_name": fields.name,
            "on_field_data": fields.data,
            "on_field_end": fields.end,
        }
    )
    parser.write(_mend_stray_percents(body, BODY_INVALID))
    parser.finalize()
    return fields.values


class _MultipartFields:
    """Callbacks of python-multipart's MultipartParser: the form fields of a multipart body. A file
    part is refused (242): no parameter of this API is a file, and a client that sends one is told so."""

    def __init__(self, codec: str) -> None:
        self.codec = codec
        self.values: dict[str, str] = {}
        self._headers: dict[bytes, bytes] = {}
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._part_codec = codec
        self._data = bytearray()

    def part_begin(self) -> None:
        self._headers.clear()
        self._data.clear()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" in disposition:
            raise ApiError(FILE_NOT_ACCEPTED)
        if b"name" not in disposition:
            raise ApiError(BODY_INVALID)
        _, part_type = parse_options_header(self._headers.get(b"content-type", b""))
        declared = part_type.get(b"charset")
        codec = charset_codec(declared.decode("latin-1")) if declared else self.codec
        if codec is None:
            raise ApiError(ENCODING_INVALID)
        self._part_codec = codec
        self._name = _text(disposition[b"name"], codec)  # the client's bytes, as sent

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def part_end(self) -> None:
        self.values.setdefault(self._name, _text(bytes(self._data), self._part_codec))


def parse_multipart(body: bytes, boundary: bytes, codec: str) -> dict[str, str]:
    if not boundary or body.count(b"--" + boundary) > MAX_FIELDS + 1:
        raise ApiError(BODY_INVALID)
    fields = _MultipartFields(codec)
    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": fields.part_begin,
                "on_part_data": fields.part_data,
                "on_part_end": fields.part_end,
                "on_header_field": fields.header_field,
                "on_header_value": fields.header_value,
                "on_header_end": fields.header_end,
                "on_headers_finished": fields.headers_finished,
            },
        )
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ApiError(BODY_INVALID) from exc
    return fields.values


def _json_scalar(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    # Nested objects and lists are not parameters of this API.
    raise ApiError(BODY_INVALID)


def parse_json(body: bytes, codec: str) -> dict[str, str]:
    try:
        data: Any = orjson.loads(body if codec == "utf-8" else _text(body, codec))
    except orjson.JSONDecodeError as exc:
        # orjson refuses invalid UTF-8 as it refuses bad syntax; the client is told which it was.
        if codec == "utf-8" and not _is_utf8(body):
            raise ApiError(ENCODING_INVALID) from exc
        raise ApiError(BODY_INVALID) from exc
    if not isinstance(data, dict) or len(data) > MAX_FIELDS:
        raise ApiError(BODY_INVALID)
    return {str(k): _json_scalar(v) for k, v in data.items()}


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _kind(media_type: str, body: bytes) -> str:
    if media_type == "application/json" or media_type.endswith("+json"):
        return "json"
    if media_type.startswith("multipart/"):
        return "multipart"
    if not media_type and body.lstrip()[:1] == b"{":
        return "json"
    return "form"


def parse_body(body: bytes, content_type: str) -> dict[str, str]:
    """The parameters of a body of the given Content-Type (urlencoded when none is named)."""
    if not body.strip():
        return {}
    media_type, options = parse_options_header(content_type)
    codec = charset_codec(options.get(b"charset", b"").decode("latin-1"))
    if codec is None:
        raise ApiError(ENCODING_INVALID)
    kind = _kind(media_type.decode("latin-1"), body)
    if kind == "json":
        return parse_json(body, codec)
    if kind == "multipart":
        return parse_multipart(body, options.get(b"boundary", b""), codec)
    return parse_form(body, codec)


# The value after a peeked name, up to the next delimiter of its kind of body.
_JSON_STRING_VALUE = re.compile(rb'\s*:\s*"([^"\\]{0,%d})"' % _MAX_PEEKED)
_MULTIPART_VALUE_START = re.compile(rb"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n){0,8}\r?\n")


def _windows(size: int) -> tuple[tuple[int, int], ...]:
    """Where a peek looks: the first and the last PEEK_WINDOW bytes (all of a smaller body)."""
    if size <= 2 * PEEK_WINDOW:
        return ((0, size),)
    return ((0, PEEK_WINDOW), (size - PEEK_WINDOW, size))


def peek_urlencoded(raw: bytes, name: bytes) -> bytes | None:
    """The raw value of the first `name=` field, found with `find` rather than by splitting it all."""
    key = name + b"="
    for start, stop in _windows(len(raw)):
        for _ in range(_MAX_FALSE_HITS):
            at = raw.find(key, start, stop)
            if at < 0:
                break
            if at == 0 or raw[at - 1] == 0x26:  # b"&"
                begin = at + len(key)
                end = raw.find(b"&", begin, begin + _MAX_PEEKED + 1)
                return raw[begin : end if end >= 0 else begin + _MAX_PEEKED + 1]
            start = at + 1
    return None


def _peek_json(body: bytes, name: bytes) -> bytes | None:
    key = b'"' + name + b'"'
    for start, stop in _windows(len(body)):
        for _ in range(_MAX_FALSE_HITS):
            at = body.find(key, start, stop)
            if at < 0:
                break
            match = _JSON_STRING_VALUE.match(body, at + len(key))
            if match:
                return match.group(1)
            start = at + 1
    return None


def _peek_multipart(body: bytes, name: bytes, boundary: bytes) -> bytes | None:
    if not boundary:
        return None
    key = b'name="' + name + b'"'
    for start, stop in _windows(len(body)):
        for _ in range(_MAX_FALSE_HITS):
            at = body.find(key, start, stop)
            if at < 0:
                break
            head = _MULTIPART_VALUE_START.match(body, at)
            if head:
                begin = head.end()
                end = body.find(b"\r\n--" + boundary, begin, begin + _MAX_PEEKED + len(boundary) + 4)
                if end >= 0:
                    return body[begin:end]
            start = at + 1
    return None


@dataclass(slots=True)
class RawRequest:
    """A request's parameters as the bytes that carry them, decoded on demand."""

    query: bytes
    body: bytes = b""
    content_type: str = ""

    def peek(self, name: str) -> str | None:
        """One parameter's value, the body's before the query's, found by a bounded byte search and
        nothing else decoded. Made for ASCII values (appkey, callback): other bytes come back as
        latin-1 text, which matches no appkey and no callback name. None when not found."""
        key = name.encode()
        raw: bytes | None = None
        if self.body:
            media_type, options = parse_options_header(self.content_type)
            kind = _kind(media_type.decode("latin-1"), self.body)
            if kind == "json":
                raw = _peek_json(self.body, key)
            elif kind == "multipart":
                raw = _peek_multipart(self.body, key, options.get(b"boundary", b""))
            else:
                raw = peek_urlencoded(self.body, key)
                raw = None if raw is None else _unescape(_mend_stray_percents(raw, BODY_INVALID))
        if raw is None:
            raw = peek_urlencoded(self.query, key)
            raw = None if raw is None else _unescape(_mend_stray_percents(raw, INVALID_PARAMETER))
        if raw is None:
            return None
        return raw.decode("latin-1")

    def params(self) -> dict[str, str]:
        """Every parameter, decoded (232, 235, 239 or 242 when that cannot be done)."""
        codec = (
            charset_codec(parse_options_header(self.content_type)[1].get(b"charset", b"").decode("latin-1"))
            if self.content_type
            else "utf-8"
        )
        if codec is None:
            raise ApiError(ENCODING_INVALID)
        params = parse_urlencoded(self.query, codec)
        if self.body:
            params.update(parse_body(self.body, self.content_type))
        return params


# A body's head: what is looked at before the rest of a body longer than it is read.
Vet = Callable[[bytes], Awaitable[None]]


def implausible_head(head: bytes, content_type: str) -> bool:
    """Whether the first PEEK_WINDOW bytes of a longer body already show it is no request of this API:
    a form without a single `name=`, or with more fields than any request has; a multipart body with
    more parts than that; JSON that is no object, or whose first value is an object or a list."""
    media_type = parse_options_header(content_type)[0].decode("latin-1")
    kind = _kind(media_type, head)
    if kind == "json":
        return _JSON_PLAUSIBLE_START.match(head) is None
    if kind == "multipart":
        boundary = parse_options_header(content_type)[1].get(b"boundary", b"")
        return not boundary or head.count(b"--" + boundary) > MAX_FIELDS
    return b"=" not in head or head.count(b"&") > MAX_FIELDS


# `{`, then the first key and the start of a value that is no object or list (nested values are no
# parameters of this API), or a key longer than the head.
_JSON_PLAUSIBLE_START = re.compile(rb'\s*\{\s*(?:\}|"(?:[^"\\]|\\.)*(?:$|"\s*(?:$|:\s*(?:$|[^\s\[{]))))')


async def read_body(scope: Scope, receive: Receive, limit: int, vet: Vet | None = None) -> bytes:
    """The whole request body, refused (235) as soon as it is known to exceed `limit`.

    `vet` sees the first PEEK_WINDOW bytes of a body longer than that before the rest is read; what it
    raises ends the request there (uvicorn then reads the rest past, without keeping it)."""
    declared = _header(scope, b"content-length")
    if declared and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(BODY_INVALID)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ApiError(BODY_INVALID)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(BODY_INVALID)
        chunks.append(chunk)
        more = message.get("more_body", False)
        if vet is not None and size >= PEEK_WINDOW and more:
            head = b"".join(chunks)
            chunks = [head]
            await vet(head)
            vet = None
        if not more:
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def read_request(
    scope: Scope,
    receive: Receive,
    body_limit: int,
    vet: Callable[[RawRequest], Awaitable[None]] | None = None,
) -> RawRequest:
    """The query string and, for a POST, the body: read, not decoded. `vet` sees the request with the
    head of its body (see read_body) when the body is longer than PEEK_WINDOW."""
    query: bytes = scope.get("query_string", b"")
    content_type = _header(scope, b"content-type")
    if scope["method"] != "POST":
        return RawRequest(query, b"", content_type)

    async def vet_head(head: bytes) -> None:
        assert vet is not None
        await vet(RawRequest(query, head, content_type))

    body = await read_body(scope, receive, body_limit, vet_head if vet is not None else None)
    return RawRequest(query, body, content_type)


async def request_params(scope: Scope, receive: Receive, body_limit: int) -> dict[str, str]:
    """Every parameter of a request, decoded at once (for callers that trust it already)."""
    return (await read_request(scope, receive, body_limit)).params()
