"""From an `Operation` to a Starlette endpoint: the token, the role, the inputs, the call, the answer.

The order is fixed: who (401), may they (403), what they sent (400), then the operation itself, whose
errors `errors.api_error` maps. Reads run on a reader connection, changes in a write transaction.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from smsplatform.admin import auth
from smsplatform.admin.actors import Actor, Role, Via
from smsplatform.admin.api.endpoint import CSV, JSON, Operation
from smsplatform.admin.api.errors import ApiError, api_error, error_response, unauthorized
from smsplatform.admin.context import AdminContext

# A word list imported in one call is the largest thing an operator sends.
MAX_BODY_BYTES = 8 * 1024 * 1024


async def actor_of(ctx: AdminContext, request: Request) -> Actor:
    """The operator whose token the request carries, acting through the API."""
    header = request.headers.get("authorization", "")
    if not header:
        raise unauthorized("an operator token is needed: Authorization: Bearer <token>")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("the Authorization header must be: Bearer <token>", invalid=True)
    found = await ctx.db.read(auth.token_operator, token)
    if found is None:
        raise unauthorized("the token is unknown or revoked, or its operator is disabled", invalid=True)
    operator, due = found
    if due:  # the token's last use is kept to the minute: most calls write nothing
        await ctx.db.write(auth.note_token_use, token)
    return Actor(operator.name, Role(operator.role), Via.API)


async def _body(request: Request) -> Any:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "too_large", f"the request body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:  # no body at all; whitespace alone is not JSON
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {exc}") from None


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def encode(result: Any) -> bytes:
    return orjson.dumps(result, default=_default, option=orjson.OPT_NON_STR_KEYS)


def _csv(result: Any) -> bytes:
    if isinstance(result, bytes):
        return result
    if isinstance(result, str):
        return result.encode()
    if isinstance(result, Iterable):
        return "".join(result).encode()
    raise TypeError(f"a CSV operation returned {type(result).__name__}")


def _media_type(operation: Operation) -> str:
    return f"{operation.media_type}; charset=utf-8" if operation.media_type == CSV else operation.media_type


def _attachment(operation: Operation) -> dict[str, str]:
    filename = operation.path.strip("/").replace("/", "-")
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def respond(operation: Operation, result: Any) -> Response:
    if operation.empty_result:
        return Response(status_code=204)
    if operation.media_type == CSV:
        return Response(
            _csv(result),
            status_code=operation.status,
            media_type=_media_type(operation),
            headers=_attachment(operation),
        )
    return Response(encode(result), status_code=operation.status, media_type=JSON)


async def stream(operation: Operation, lines: AsyncIterator[str]) -> Response:
    """The answer streamed as the operation reads it; its first line is awaited here, so that a refusal
    or a bad filter is still an error answer rather than a broken download."""
    try:
        first = await anext(lines)
    except StopAsyncIteration:
        first = ""

    async def body() -> AsyncIterator[bytes]:
        yield first.encode()
        async for line in lines:
            yield line.encode()

    return StreamingResponse(
        body(),
        status_code=operation.status,
        media_type=_media_type(operation),
        headers=_attachment(operation),
    )


def make_handler(ctx: AdminContext, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
    run = ctx.db.write if operation.writes else ctx.db.read

    async def handle(request: Request) -> Response:
        try:
            actor = await actor_of(ctx, request)
            actor.require(operation.permission)
            kwargs = operation.supplied_values(ctx)
            kwargs.update(operation.parse_path(request.path_params))
            kwargs.update(operation.parse_query(request.query_params.multi_items()))
            if operation.body_params:
                kwargs.update(operation.parse_body(await _body(request)))
            if operation.streams:
                return await stream(operation, operation.op(ctx.db, actor, **kwargs))
            result = await run(operation.op, actor, **kwargs)
            return respond(operation, result)
        except Exception as exc:
            return error_response(api_error(exc))

    handle.__name__ = operation.name.replace(".", "_")
    return handle
