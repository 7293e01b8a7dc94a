"""The web console: server-rendered pages (Jinja2, htmx) for operators and reviewers.

Every page is built on the operator operations of `admin/` (never on SQL of its own): reads run with
`ctx.db.read(op, actor, …)`, changes with `ctx.db.write(op, actor, …)`. Assets are vendored in
`admin/static`, so the console works with no internet.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smsplatform.admin.console import session
from smsplatform.admin.console.pages import (
    audit,
    callbacks,
    connectors,
    customers,
    dashboard,
    login,
    messages,
    replies,
    review,
    settings,
    words,
)
from smsplatform.admin.console.site import Console, console_of
from smsplatform.admin.context import AdminContext

# Scripts and styles from this console only; no framing by other sites; pages not cached (they show
# customers' data) except the vendored assets.
_SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_SECURITY_HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def page_routes() -> list[BaseRoute]:
    return [
        *login.routes(),
        *dashboard.routes(),
        *review.routes(),
        *customers.routes(),
        *messages.routes(),
        *callbacks.routes(),
        *replies.routes(),
        *connectors.routes(),
        *words.routes(),
        *settings.routes(),
        *audit.routes(),
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    key = {404: "error.page_not_found", 405: "error.method"}.get(status, "error.internal")
    return console_of(request).error(request, status, key)


def create_console(ctx: AdminContext) -> Starlette:
    app = Starlette(
        routes=[
            Mount("/static", app=StaticFiles(packages=[("smsplatform.admin", "static")]), name="static"),
            *page_routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=ctx.secret_key,
                session_cookie=session.COOKIE,
                max_age=session.MAX_SECONDS,
                same_site="lax",
            ),
        ],
        exception_handlers={404: _http_error, 405: _http_error, 500: _http_error},
    )
    app.state.console = Console(ctx)
    return app
