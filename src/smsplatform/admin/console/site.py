"""The console as one object its pages share: the admin context, the templates, the login throttle;
and the rendering every page goes through (language, navigation, CSRF token, flash messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.console import formatting, i18n, session
from smsplatform.admin.console.throttle import LoginThrottle
from smsplatform.admin.context import AdminContext

T = TypeVar("T")

# The navigation bar: (path, catalogue key). Every page is reachable from here.
NAV = (
    ("/", "nav.dashboard"),
    ("/review", "nav.review"),
    ("/customers", "nav.customers"),
    ("/messages", "nav.messages"),
    ("/callbacks", "nav.callbacks"),
    ("/replies", "nav.replies"),
    ("/connectors", "nav.connectors"),
    ("/words", "nav.words"),
    ("/settings", "nav.settings"),
    ("/audit", "nav.audit"),
)

_FLASH = "flash"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("smsplatform.admin", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the page test, not the operator
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=formatting.local_time,
        num=formatting.number,
        pct=formatting.percent,
        ms=formatting.duration_ms,
        seconds=formatting.duration_s,
        secret=formatting.secret,
        changes=formatting.changes,
    )
    return env


def language(request: Request) -> str:
    lang = getattr(request.state, "lang", None)
    if lang is None:
        lang = request.state.lang = i18n.choose(
            request.cookies.get(i18n.COOKIE), request.headers.get("accept-language")
        )
    return str(lang)


def translator(request: Request) -> i18n.Translate:
    return i18n.catalogue().translator(language(request))


def label(request: Request, prefix: str, value: str) -> str:
    """A value's name in the catalogue (`carrier.mobile` → China Mobile), or the value itself for one
    the catalogue does not know (a carrier or link state added later still shows)."""
    key = f"{prefix}.{value.replace(' ', '_')}"
    if key in i18n.catalogue().texts:
        return translator(request)(key)
    return value or "–"


def tr(request: Request, key: str, **values: Any) -> str:
    """The catalogue's text for `key` in the request's language (for flash lines written in Python)."""
    return translator(request)(key, **values)


@dataclass
class Console:
    ctx: AdminContext
    env: jinja2.Environment = field(default_factory=environment)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    async def read(self, op: Callable[..., T], actor: Actor, *args: Any, **kwargs: Any) -> T:
        """An operator read: `op(conn, actor, …)` outside any write."""
        return await self.ctx.db.read(op, actor, *args, **kwargs)

    async def write(self, op: Callable[..., T], actor: Actor, *args: Any, **kwargs: Any) -> T:
        """An operator change: `op(conn, actor, …)` in one transaction with its audit entry."""
        return await self.ctx.db.write(op, actor, *args, **kwargs)

    def flash(self, request: Request, text: str, kind: str = "ok") -> None:
        """A line shown once, on the next page the operator sees (after a change's redirect)."""
        request.session[_FLASH] = [*request.session.get(_FLASH, []), [kind, text]][-5:]

    def render(
        self,
        request: Request,
        template: str,
        values: dict[str, Any] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        actor: Actor | None = getattr(request.state, "actor", None)
        lang = language(request)
        has_session = "session" in request.scope
        flashes = request.session.pop(_FLASH, []) if has_session and not is_htmx(request) else []
        csrf = session.csrf_token(request) if has_session else ""
        page = {
            "request": request,
            "path": request.url.path,
            "lang": lang,
            "languages": i18n.LANGUAGES,
            "_": translator(request),
            "label": lambda prefix, value: label(request, prefix, value),
            "actor": actor,
            "can_manage": actor is not None and actor.can(Permission.MANAGE),
            "can_review": actor is not None and actor.can(Permission.REVIEW),
            "csrf": csrf,
            "csrf_field": Markup('<input type="hidden" name="{}" value="{}">').format(
                session.CSRF_FIELD, csrf
            ),
            "nav": NAV,
            "zone": formatting.zone(),
            "flashes": flashes,
            "htmx": is_htmx(request),
        }
        page.update(values or {})
        body = self.env.get_template(template).render(page)
        return HTMLResponse(body, status_code=status, headers=headers)

    def error(
        self,
        request: Request,
        status: int,
        key: str,
        *,
        detail: str = "",
        login_link: bool = False,
    ) -> Response:
        """A refusal the operator can read: the whole page, or for htmx a line in the page's message
        area (the rest of the page stays as it was)."""
        values = {
            "status": status,
            "message_key": key,
            "detail": detail,
            "login_link": login_link,
            "back": _local_referer(request),
        }
        if is_htmx(request):
            return self.render(
                request,
                "partials/error.html",
                values,
                status=status,
                headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
            )
        return self.render(request, "error.html", values, status=status)


def _local_referer(request: Request) -> str:
    """The page the operator came from, if it is one of ours (for a "back" link)."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if not referer or parts.netloc != request.url.netloc or parts.path == request.url.path:
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console
