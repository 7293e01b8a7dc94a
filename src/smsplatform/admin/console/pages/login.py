"""Logging in and out, and the language switch."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import auth
from smsplatform.admin.actors import Actor
from smsplatform.admin.console import i18n, session
from smsplatform.admin.console.forms import text
from smsplatform.admin.console.site import console_of
from smsplatform.admin.console.throttle import LoginThrottle, take_turn
from smsplatform.admin.console.views import csrf_checked, current_actor, posted_form, view

LANG_COOKIE_SECONDS = 365 * 86400


def safe_next(target: str | None) -> str:
    """A place on this console to go after the login: a local path, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def login_page(request: Request) -> Response:
    if await current_actor(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return console_of(request).render(
        request,
        "login.html",
        {"next": safe_next(request.query_params.get("next")), "failed": False, "name": ""},
    )


async def login(request: Request) -> Response:
    console = console_of(request)
    if not await csrf_checked(request):
        return console.error(request, 403, "error.csrf")
    form = await posted_form(request)
    name, password = text(form, "name"), form.get("password")
    target = safe_next(text(form, "next"))
    address = request.client.host if request.client else ""
    keys = LoginThrottle.keys(address, name)
    await take_turn(console.throttle, keys)
    operator = None
    if name and isinstance(password, str) and password:
        operator = await console.ctx.db.read(auth.authenticate, name, password)
    if operator is None:
        console.throttle.failed(keys)
        # The same answer for an unknown name and a wrong password.
        return console.render(
            request, "login.html", {"next": target, "failed": True, "name": name}, status=401
        )
    console.throttle.succeeded(keys)
    session.log_in(request, operator.name)
    return RedirectResponse(target, status_code=303)


@view()
async def logout(request: Request, actor: Actor) -> Response:
    session.log_out(request)
    return RedirectResponse("/login", status_code=303)


async def switch_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=True)
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/lang/{lang}", switch_language, methods=["GET"]),
    ]
