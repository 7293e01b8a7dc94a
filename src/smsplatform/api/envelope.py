"""The answer every endpoint gives: `{"status", "msg", "result"}`, in that order, as JSON or JSONP."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.responses import Response

from smsplatform.api.codes import INVALID_CALLBACK, OK, message_for

JSON_TYPE = "application/json; charset=utf-8"
JSONP_TYPE = "application/javascript; charset=utf-8"
CALLBACK_PATTERN = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.]{0,63}")


class ApiError(Exception):
    """Ends a request with an error code of SPEC §3 (or ours, 230+)."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg or message_for(code)


def stringify(value: Any) -> Any:
    """Every number inside `result` is rendered as a string, as in the original service's answers."""
    if type(value) is str:  # most values are strings already: they cost one test
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return {k: v if type(v) is str else stringify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stringify(v) for v in value]
    return value


def envelope_bytes(code: int, result: Any, *, msg: str | None = None, status_as_int: bool = False) -> bytes:
    status: int | str = code if status_as_int else str(code)
    body = {"status": status, "msg": "ok" if code == OK else (msg or message_for(code)), "result": result}
    return orjson.dumps(body)


def render_bytes(
    code: int,
    result: Any = "",
    *,
    msg: str | None = None,
    callback: str | None = None,
    status_as_int: bool = False,
) -> tuple[bytes, str]:
    """The body and content type of an answer: JSONP when a valid callback name was given."""
    payload = envelope_bytes(code, stringify(result), msg=msg, status_as_int=status_as_int)
    if callback:
        if not CALLBACK_PATTERN.fullmatch(callback):
            # Never echo an invalid name back: it could be script.
            return envelope_bytes(INVALID_CALLBACK, "", status_as_int=status_as_int), JSON_TYPE
        return callback.encode() + b"(" + payload + b");", JSONP_TYPE
    return payload, JSON_TYPE


def render(
    code: int,
    result: Any = "",
    *,
    msg: str | None = None,
    callback: str | None = None,
    status_as_int: bool = False,
) -> Response:
    """The HTTP answer: always 200."""
    body, media_type = render_bytes(code, result, msg=msg, callback=callback, status_as_int=status_as_int)
    return Response(body, media_type=media_type)
