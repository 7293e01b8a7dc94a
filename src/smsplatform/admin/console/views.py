"""What every page goes through: the operator behind the session, the CSRF token of a POST, the role,
and errors turned into a readable answer.

A handler is `async def handler(request, actor) -> Response`; `view(permission)` wraps it. Change
handlers name MANAGE (or REVIEW), so a reviewer's forged POST is refused here, before any operation
runs, and the operation would refuse it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from smsplatform.admin.actors import Actor, Forbidden, Permission, Role, Via
from smsplatform.admin.console import session
from smsplatform.admin.console.site import console_of, is_htmx
from smsplatform.store.errors import NotFound, StoreError

log = logging.getLogger(__name__)

Handler = Callable[[Request, Actor], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]

# Limits on what a form may carry (a word list file is the largest thing posted).
MAX_FIELDS = 10_000
MAX_PART_BYTES = 16 * 1024 * 1024


async def posted_form(request: Request) -> FormData:
    """The request's form (parsed once, then cached on the request)."""
    return await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_PART_BYTES)


async def csrf_checked(request: Request) -> bool:
    """Whether a POST carries its session's CSRF token (header from htmx, else the form field)."""
    submitted = request.headers.get(session.CSRF_HEADER)
    if not submitted:
        field = (await posted_form(request)).get(session.CSRF_FIELD)
        submitted = field if isinstance(field, str) else None
    return session.csrf_valid(request, submitted)


async def current_actor(request: Request) -> Actor | None:
    from smsplatform.admin import auth

    name = session.operator_name(request)
    if name is None:
        return None
    operator = await console_of(request).ctx.db.read(auth.session_operator, name)
    if operator is None:
        session.log_out(request)
        return None
    return Actor(operator.name, Role(operator.role), Via.CONSOLE)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='/')}"
    if is_htmx(request):  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def view(permission: Permission = Permission.VIEW) -> Callable[[Handler], Endpoint]:
    def wrap(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            console = console_of(request)
            if request.method == "POST" and not await csrf_checked(request):
                return console.error(request, 403, "error.csrf")
            actor = await current_actor(request)
            if actor is None:
                if request.method == "POST":  # a POST of an ended session: nothing runs
                    return console.error(request, 401, "error.session_expired", login_link=True)
                return login_redirect(request)
            request.state.actor = actor
            if not actor.can(permission):
                return console.error(request, 403, "error.forbidden")
            try:
                return await handler(request, actor)
            except Exception as exc:
                return error_response(request, exc)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return wrap


def error_response(request: Request, exc: Exception) -> Response:
    """An operation's refusal as a page (or an htmx fragment) with its status; anything else is a bug:
    logged, and answered with a plain 500 page."""
    console = console_of(request)
    if isinstance(exc, Forbidden):
        return console.error(request, 403, "error.forbidden")
    if isinstance(exc, NotFound):
        return console.error(request, 404, "error.not_found", detail=_detail(exc))
    if isinstance(exc, StoreError):
        return console.error(request, 409, "error.conflict", detail=_detail(exc))
    if isinstance(exc, ValueError):
        return console.error(request, 400, "error.invalid", detail=_detail(exc))
    log.exception("console: %s %s failed", request.method, request.url.path)
    return console.error(request, 500, "error.internal")


def _detail(exc: Exception) -> str:
    """What the operation said, else the rule that refused (`SignatureTaken` → "signature taken")."""
    text = str(exc).strip()
    if text:
        return text
    name = type(exc).__name__
    return "".join(" " + c.lower() if c.isupper() else c for c in name).strip()


def done(request: Request, location: str, text: str = "") -> Response:
    """After a change: a line for the next page, and back to a page with a 303 (a reload does not post
    again); htmx loads that page whole."""
    if text:
        console_of(request).flash(request, text)
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)
