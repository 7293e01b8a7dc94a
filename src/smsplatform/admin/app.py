"""The admin listener's application: /metrics, the management API under /admin/api, the console, and
the node's /healthz and /readyz (a console-only node is probed where it listens)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from smsplatform.admin.api import create_management_api
from smsplatform.admin.console import create_console
from smsplatform.admin.context import AdminContext
from smsplatform.admin.metrics import metrics_endpoint
from smsplatform.cluster.health import NodeHealth, health_routes


def create_admin_app(ctx: AdminContext, health: NodeHealth | None = None) -> Starlette:
    probes: list[BaseRoute] = list(health_routes(health)) if health is not None else []
    return Starlette(
        routes=[
            Route("/metrics", metrics_endpoint(ctx), methods=["GET"]),
            *probes,
            Mount("/admin/api", app=create_management_api(ctx)),
            Mount("/", app=create_console(ctx)),
        ]
    )
