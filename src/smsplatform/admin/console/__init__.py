"""The web console: server-rendered pages (Jinja2, htmx) for operators and reviewers."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from smsplatform.admin.context import AdminContext


def create_console(ctx: AdminContext) -> Starlette:
    async def index(_: Request) -> Response:
        return PlainTextResponse("smsplatform console")

    return Starlette(routes=[Route("/", index)])
