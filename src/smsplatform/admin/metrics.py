"""/metrics in Prometheus' text format."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from smsplatform.admin.context import AdminContext


def metrics_endpoint(ctx: AdminContext) -> Callable[[Request], Awaitable[Response]]:
    async def metrics(_: Request) -> Response:
        return PlainTextResponse("", media_type="text/plain; version=0.0.4")

    return metrics
