"""The management API: every console action as JSON under /admin/api, for an operator's token.

The route table (`resources.ENDPOINTS`) binds each path to an operator operation of `admin/`; the
handlers and the OpenAPI document at /admin/api/openapi.json are both made from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from smsplatform.admin.api.endpoint import JSON, Endpoint, Operation
from smsplatform.admin.api.errors import http_exception, unexpected
from smsplatform.admin.api.handler import make_handler
from smsplatform.admin.api.openapi import openapi_document
from smsplatform.admin.api.resources import ENDPOINTS
from smsplatform.admin.context import AdminContext


def operations(endpoints: Sequence[Endpoint] = ENDPOINTS) -> list[Operation]:
    return [Operation(endpoint) for endpoint in endpoints]


def create_management_api(ctx: AdminContext, endpoints: Sequence[Endpoint] = ENDPOINTS) -> Starlette:
    table = operations(endpoints)
    document = orjson.dumps(openapi_document(table))

    async def openapi(_: Request) -> Response:
        return Response(document, media_type=JSON)

    routes = [Route("/openapi.json", openapi, methods=["GET"])]
    routes += [Route(op.path, make_handler(ctx, op), methods=[op.method]) for op in table]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_exception, Exception: unexpected},
    )
