"""Settings: the effective configuration of this process (read-only, secrets masked) and the platform
switches an admin flips (maintenance, endpoints turned off)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import platform
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import done, posted_form, view


@view()
async def settings_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    state = await console.read(platform.platform_state, actor)
    return console.render(
        request,
        "settings.html",
        {
            "state": state,
            "endpoints": platform.API_ENDPOINTS,
            "settings": platform.effective_settings(console.ctx.settings),
        },
    )


@view(Permission.MANAGE)
async def maintenance(request: Request, actor: Actor) -> Response:
    on = forms.text(await posted_form(request), "on") == "1"
    await console_of(request).write(platform.set_maintenance, actor, on)
    key = "settings.maintenance_on" if on else "settings.maintenance_off"
    return done(request, "/settings", tr(request, key))


@view(Permission.MANAGE)
async def endpoint_switch(request: Request, actor: Actor) -> Response:
    form = await posted_form(request)
    endpoint, enabled = forms.text(form, "endpoint"), forms.text(form, "enabled") == "1"
    await console_of(request).write(platform.set_endpoint_enabled, actor, endpoint, enabled)
    return done(request, "/settings", tr(request, "common.saved"))


def routes() -> list[BaseRoute]:
    return [
        Route("/settings", settings_page, methods=["GET"]),
        Route("/settings/maintenance", maintenance, methods=["POST"]),
        Route("/settings/endpoint", endpoint_switch, methods=["POST"]),
    ]
