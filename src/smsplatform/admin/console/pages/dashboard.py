"""The dashboard: today's and the last hour's figures, delivery rate and median times per carrier and
per connector, queue depth, links up and down, the callback backlog, and charts over 1 h / 24 h / 30 d
(switched in place with htmx)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import dashboard
from smsplatform.admin.actors import Actor
from smsplatform.admin.console import charts, forms
from smsplatform.admin.console.site import console_of, label, translator
from smsplatform.admin.console.views import view
from smsplatform.store.clock import now

DEFAULT_WINDOW = "24h"
# The figures of a series drawn as the traffic chart's lines, each in the colour that means it
# (the stylesheet's s0 blue, s5 teal, s1 green, s2 red).
TRAFFIC = {"accepted": 0, "submitted": 5, "delivered": 1, "failed": 2}
MAX_LINES = 6  # more carriers or connectors than colours: the busiest are drawn


def _window(request: Request) -> str:
    window = forms.text(request.query_params, "window") or DEFAULT_WINDOW
    if window not in dashboard.WINDOWS:
        raise ValueError(f"unknown window {window!r}: one of {', '.join(dashboard.WINDOWS)}")
    return window


async def _charts(request: Request, actor: Actor, window: str) -> dict[str, Any]:
    """The window's charts as SVG: traffic over time, delivered per carrier over time, and delivered
    and failed per carrier over the whole window."""
    console = console_of(request)
    _ = translator(request)
    at = now()
    total = await console.read(dashboard.series, actor, window=window, now=at)
    by_carrier = await console.read(dashboard.series, actor, window=window, now=at, by="carrier")
    start, end = total.starts[0], total.starts[-1] + total.period
    no_data = _("dashboard.no_data")
    traffic = charts.line_chart(
        [
            charts.Series(
                _(f"dashboard.{figure}"), [(p.start, getattr(p, figure)) for p in total.total], colour
            )
            for figure, colour in TRAFFIC.items()
        ],
        title=_("dashboard.chart_traffic", window=_(f"dashboard.window_{window}")),
        start=start,
        end=end,
        no_data=no_data,
    )
    carriers = by_carrier.lines[:MAX_LINES]
    delivered = charts.line_chart(
        [
            charts.Series(label(request, "carrier", line.name), [(p.start, p.delivered) for p in line.points])
            for line in carriers
        ],
        title=_("dashboard.chart_delivered_by_carrier"),
        start=start,
        end=end,
        no_data=no_data,
    )
    outcome = charts.bar_chart(
        [label(request, "carrier", line.name) for line in carriers],
        [
            charts.Bars(
                _(f"dashboard.{figure}"),
                [sum(getattr(p, figure) for p in line.points) for line in carriers],
                TRAFFIC[figure],
            )
            for figure in ("delivered", "failed")
        ],
        title=_("dashboard.chart_outcome_by_carrier"),
        no_data=no_data,
    )
    return {"window": window, "windows": list(dashboard.WINDOWS), "charts": [traffic, delivered, outcome]}


@view()
async def dashboard_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    window = _window(request)
    overview = await console.read(dashboard.overview, actor, now=now())
    values = {"o": overview, **await _charts(request, actor, window)}
    return console.render(request, "dashboard.html", values)


@view()
async def dashboard_charts(request: Request, actor: Actor) -> Response:
    """The charts of another window, for htmx to swap in."""
    values = await _charts(request, actor, _window(request))
    return console_of(request).render(request, "partials/dashboard_charts.html", values)


def routes() -> list[BaseRoute]:
    return [
        Route("/", dashboard_page, methods=["GET"]),
        Route("/dashboard/charts", dashboard_charts, methods=["GET"]),
    ]
