"""The management API's error answers: `{"error": "<machine code>", "message": "<readable>"}`.

The operations raise the store's errors, `Forbidden` and `ValueError`; here each becomes its HTTP
status, so that handlers never decide codes themselves and no exception reaches the client as a
traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from smsplatform.admin.actors import Forbidden
from smsplatform.store.errors import NotFound, StoreError

log = logging.getLogger(__name__)

JSON = "application/json"
# What a client without a token or with a bad one is told to bring (RFC 6750).
BEARER_CHALLENGE = 'Bearer realm="smsplatform-admin"'


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def unauthorized(message: str, *, invalid: bool = False) -> ApiError:
    challenge = BEARER_CHALLENGE + (', error="invalid_token"' if invalid else "")
    return ApiError(
        401, "invalid_token" if invalid else "unauthorized", message, {"WWW-Authenticate": challenge}
    )


def error_response(error: ApiError) -> Response:
    body = orjson.dumps({"error": error.code, "message": error.message})
    return Response(body, status_code=error.status, media_type=JSON, headers=error.headers)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _readable(exc: BaseException, fallback: str) -> str:
    text = str(exc).strip()
    return text or fallback


def api_error(exc: BaseException) -> ApiError:
    """The answer to an exception an operation raised."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Forbidden):
        return ApiError(403, "forbidden", _readable(exc, "your role does not allow this"))
    if isinstance(exc, NotFound):
        return ApiError(404, "not_found", f"not found: {_readable(exc, 'no such thing')}")
    if isinstance(exc, StoreError):
        # A duplicate, a transition the row's state does not allow, a quota the change would break.
        return ApiError(409, _snake(type(exc).__name__), _readable(exc, (exc.__doc__ or "conflict").strip()))
    if isinstance(exc, ValueError):
        return ApiError(400, "invalid", _readable(exc, "invalid input"))
    if isinstance(exc, sa.exc.IntegrityError):
        # A unique key that a concurrent change took between the operation's check and its insert.
        return ApiError(409, "conflict", "the change conflicts with the stored data; reload and retry")
    if isinstance(exc, sa.exc.DataError):
        return ApiError(400, "invalid", "a value is out of range for the database")
    log.exception("management API: unexpected error", exc_info=exc)
    return ApiError(500, "internal", "internal error; the server log has the details")


def _status_code(status: int) -> str:
    return {404: "no_such_path", 405: "method_not_allowed"}.get(status, _snake(f"http{status}"))


async def http_exception(_: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such path, wrong method) in the same shape as ours."""
    assert isinstance(exc, HTTPException)
    headers: dict[str, Any] = dict(exc.headers or {})
    message = {404: "no such path in the management API", 405: "method not allowed on this path"}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(ApiError(exc.status_code, _status_code(exc.status_code), message, headers))


async def unexpected(_: Request, exc: Exception) -> Response:
    return error_response(api_error(exc))
