"""Reading parameters the way real clients send them.

Query string, urlencoded body or JSON object body; a body value wins over the query. Clients send raw,
un-percent-encoded UTF-8 (Chinese text, 【】) in the query string and `+` for space, so the query is
decoded by hand from the raw bytes rather than by a parser that assumes ASCII.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import orjson
from starlette.types import Receive, Scope

from smsplatform.api.codes import BODY_INVALID
from smsplatform.api.envelope import ApiError


def parse_urlencoded(raw: bytes) -> dict[str, str]:
    """Decodes `a=1&b=2`; `+` is a space; bytes must be UTF-8. The first occurrence of a name wins."""
    values: dict[str, str] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        try:
            key = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
            text = unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(BODY_INVALID) from exc
        values.setdefault(key, text)
    return values


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


def parse_body(body: bytes, content_type: str) -> dict[str, str]:
    if not body.strip():
        return {}
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json") or (not ctype and body.lstrip()[:1] == b"{"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(BODY_INVALID) from exc
        if not isinstance(data, dict):
            raise ApiError(BODY_INVALID)
        return {str(k): _json_scalar(v) for k, v in data.items()}
    if ctype.startswith("multipart/"):
        raise ApiError(BODY_INVALID)
    return parse_urlencoded(body)


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refused (235) as soon as it is known to exceed `limit`."""
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
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def request_params(scope: Scope, receive: Receive, body_limit: int) -> dict[str, str]:
    params = parse_urlencoded(scope.get("query_string", b""))
    if scope["method"] == "POST":
        body = await read_body(scope, receive, body_limit)
        params.update(parse_body(body, _header(scope, b"content-type")))
    return params
