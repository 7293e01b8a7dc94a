"""The management API: every console action as JSON under /admin/api, for an operator's token."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smsplatform.admin.context import AdminContext


def create_management_api(ctx: AdminContext) -> Starlette:
    async def openapi(_: Request) -> Response:
        return JSONResponse(
            {"openapi": "3.1.0", "info": {"title": "smsplatform management API", "version": "1"}}
        )

    return Starlette(routes=[Route("/openapi.json", openapi)])
