"""The Starlette application: `/sms/<endpoint>` for GET and POST, the OpenAPI description, a health probe."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsplatform.api import accounts, codes, send, templates
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError, render
from smsplatform.api.guard import admit
from smsplatform.api.openapi import openapi_document
from smsplatform.api.params import request_params

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
}


def create_app(ctx: ApiContext, extra_endpoints: dict[str, Handler] | None = None) -> Starlette:
    endpoints = {**ENDPOINTS, **(extra_endpoints or {})}
    status_as_int = ctx.settings.status_as_int

    async def api_call(request: Request) -> Response:
        name = request.path_params["endpoint"]
        handler = endpoints.get(name)
        if handler is None:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        callback: str | None = None
        try:
            params = await request_params(request, ctx.settings.max_body_bytes)
            callback = params.get("callback") or None
            client_ip = request.client.host if request.client else ""
            call = await admit(ctx, name, params, client_ip)
            result = await handler(ctx, call)
        except ApiError as exc:
            return render(exc.code, msg=exc.msg, callback=callback, status_as_int=status_as_int)
        except Exception:
            log.exception("unhandled error in /sms/%s", name)
            return render(codes.UNKNOWN_ERROR, callback=callback, status_as_int=status_as_int)
        return render(codes.OK, result, callback=callback, status_as_int=status_as_int)

    async def health(_: Request) -> Response:
        return render(codes.OK, {"ok": "1"}, status_as_int=status_as_int)

    document = openapi_document(sorted(endpoints))

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    return Starlette(
        routes=[
            Route("/sms/{endpoint}", api_call, methods=["GET", "POST"]),
            Route("/healthz", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ]
    )
