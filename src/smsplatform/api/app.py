"""The Starlette application: `/sms/<endpoint>` for GET and POST, the OpenAPI description, a health probe."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smsplatform.api import accounts, codes, queries, send, templates
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import CALLBACK_PATTERN, JSON_TYPE, JSONP_TYPE, ApiError, render, render_bytes
from smsplatform.api.guard import admit, refuse_early
from smsplatform.api.openapi import openapi_document
from smsplatform.api.params import RawRequest, read_request
from smsplatform.telemetry import API_REQUESTS

log = logging.getLogger(__name__)

Handler = Callable[[ApiContext, Call], Awaitable[Any]]

ENDPOINTS: dict[str, Handler] = {
    "send": send.send,
    "balance": accounts.balance,
    "blackword": accounts.blackword,
    "addaccount": accounts.addaccount,
    "editaccount": accounts.editaccount,
    "accountlist": accounts.accountlist,
    "addtemplate": templates.addtemplate,
    "edittemplate": templates.edittemplate,
    "templatelist": templates.templatelist,
    "templatedetail": templates.templatedetail,
    "status": queries.status,
    "reply": queries.reply,
}


_MEDIA_TYPES = {media_type: media_type.encode() for media_type in (JSON_TYPE, JSONP_TYPE)}


class CustomerApi:
    """The ASGI application: `/sms/...` answered directly, always with the envelope (the hot path: no
    routing or middleware layers), everything else by a small Starlette app (health, OpenAPI, and what
    later rooms add)."""

    def __init__(self, ctx: ApiContext, endpoints: dict[str, Handler], other: Starlette) -> None:
        self.ctx = ctx
        self.endpoints = endpoints
        self.other = other
        self._vet = functools.partial(refuse_early, ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/sms/"):
            await self.other(scope, receive, send)
            return
        name = path[5:]
        handler = self.endpoints.get(name)
        if handler is not None and scope["method"] in ("GET", "POST"):
            body, media_type = await self.answer(name, handler, scope, receive)
        else:
            body, media_type = self.refuse(name if handler is not None else None, scope)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", _MEDIA_TYPES.get(media_type) or media_type.encode()),
                    (b"content-length", b"%d" % len(body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def refuse(self, endpoint: str | None, scope: Scope) -> tuple[bytes, str]:
        """Under /sms/, what is not a call still gets the envelope: an unknown endpoint (240), or a
        known one asked with another method than GET or POST (241). Nothing of it is read but the
        query's callback name, so that a JSONP client can read the answer."""
        code = codes.METHOD_NOT_ALLOWED if endpoint is not None else codes.ENDPOINT_UNKNOWN
        API_REQUESTS[endpoint or "unknown", code] += 1
        callback = RawRequest(scope.get("query_string", b"")).peek("callback")
        if callback is not None and not CALLBACK_PATTERN.fullmatch(callback):
            callback = None
        return render_bytes(code, callback=callback, status_as_int=self.ctx.settings.status_as_int)

    async def answer(self, name: str, handler: Handler, scope: Scope, receive: Receive) -> tuple[bytes, str]:
        ctx = self.ctx
        status_as_int = ctx.settings.status_as_int
        callback: str | None = None
        try:
            request = await read_request(scope, receive, ctx.settings.max_body_bytes, self._vet)
            callback = request.peek("callback") or None
            if callback is not None and not CALLBACK_PATTERN.fullmatch(callback):
                # Refused before the call runs: a send whose answer the client cannot read would be
                # retried and sent twice.
                callback = None
                raise ApiError(codes.INVALID_CALLBACK)
            client = scope.get("client")
            call = await admit(ctx, name, request, client[0] if client else "")
            if (call.params.get("callback") or None) != callback:
                # The decoded parameters name another callback than the search found: ambiguous.
                callback = None
                raise ApiError(codes.INVALID_CALLBACK)
            result = await handler(ctx, call)
        except ApiError as exc:
            API_REQUESTS[name, exc.code] += 1
            return render_bytes(exc.code, msg=exc.msg, callback=callback, status_as_int=status_as_int)
        except Exception:
            log.exception("unhandled error in /sms/%s", name)
            API_REQUESTS[name, codes.UNKNOWN_ERROR] += 1
            return render_bytes(codes.UNKNOWN_ERROR, callback=callback, status_as_int=status_as_int)
        API_REQUESTS[name, codes.OK] += 1  # /metrics: requests by endpoint and code
        return render_bytes(codes.OK, result, callback=callback, status_as_int=status_as_int)


def create_app(ctx: ApiContext, extra_endpoints: dict[str, Handler] | None = None) -> CustomerApi:
    endpoints = {**ENDPOINTS, **(extra_endpoints or {})}
    status_as_int = ctx.settings.status_as_int

    async def healthz(_: Request) -> Response:
        """The envelope with {"ok": "1"} and what the node reaches; 503 (and "ok": "0") when it cannot
        reach its database or Redis."""
        if ctx.health is None:
            return render(codes.OK, {"ok": "1"}, status_as_int=status_as_int)
        report = await ctx.health.check()
        return _probe_answer(report.healthy, report.as_dict(), status_as_int)

    async def readyz(_: Request) -> Response:
        """Like /healthz, and 503 also before the node has started and once it is stopping."""
        if ctx.health is None:
            return render(codes.OK, {"ok": "1"}, status_as_int=status_as_int)
        report = await ctx.health.check()
        return _probe_answer(report.ready, report.as_dict(), status_as_int)

    document = openapi_document(sorted(endpoints))

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    other = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ]
    )
    return CustomerApi(ctx, endpoints, other)


def _probe_answer(good: bool, found: dict[str, object], status_as_int: bool) -> Response:
    """A probe's answer in the envelope, so that clients of the API read it as they read the rest."""
    if good:
        response = render(codes.OK, {"ok": "1", **found}, status_as_int=status_as_int)
    else:
        response = render(codes.SERVICE_BUSY, {"ok": "0", **found}, status_as_int=status_as_int)
        response.status_code = 503
    return response
