"""The dashboard: today's and the last hour's figures, delivery per carrier and connector, charts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin.actors import Actor
from smsplatform.admin.console.site import console_of
from smsplatform.admin.console.views import view


@view()
async def dashboard_page(request: Request, actor: Actor) -> Response:
    return console_of(request).render(request, "dashboard.html")


def routes() -> list[BaseRoute]:
    return [Route("/", dashboard_page, methods=["GET"])]
