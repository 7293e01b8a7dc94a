"""The admin listener's application: /metrics, the management API under /admin/api, the console."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from smsplatform.admin.api import create_management_api
from smsplatform.admin.console import create_console
from smsplatform.admin.context import AdminContext
from smsplatform.admin.metrics import metrics_endpoint


def create_admin_app(ctx: AdminContext) -> Starlette:
    return Starlette(
        routes=[
            Route("/metrics", metrics_endpoint(ctx), methods=["GET"]),
            Mount("/admin/api", app=create_management_api(ctx)),
            Mount("/", app=create_console(ctx)),
        ]
    )
