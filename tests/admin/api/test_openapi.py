"""The OpenAPI document and the routes are made from one table: nothing served is undescribed, and
nothing described is missing."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route

from smsplatform.admin.api import create_management_api
from smsplatform.admin.context import AdminContext
from smsplatform.config import Settings
from smsplatform.store.database import Database
from tests.admin.api.conftest import Mgmt


async def _document(mgmt: Mgmt) -> dict[str, Any]:
    answer = await mgmt.anonymous.get("/openapi.json")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    document: dict[str, Any] = answer.json()
    assert document["openapi"] == "3.1.0" and document["servers"] == [{"url": "/admin/api"}]
    return document


async def test_every_route_is_described(mgmt: Mgmt, db: Database) -> None:
    document = await _document(mgmt)
    app = create_management_api(AdminContext(settings=Settings(), db=db, secret_key="k"))
    served = {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path != "/openapi.json"
        for method in route.methods or ()
        if method != "HEAD"
    }
    described = {(method, path) for path, methods in document["paths"].items() for method in methods}
    assert served == described
    operation_ids = [op["operationId"] for methods in document["paths"].values() for op in methods.values()]
    assert len(operation_ids) == len(set(operation_ids))


async def test_every_described_path_answers(mgmt: Mgmt) -> None:
    """Called with made-up ids, each described operation is reached: its answer is its own (found,
    not found, bad input), never the router's "no such path" or "method not allowed"."""
    document = await _document(mgmt)
    for path, methods in document["paths"].items():
        concrete = re.sub(r"{[^}]+}", "1", path)
        for method, operation in methods.items():
            answer = await mgmt.client.request(method.upper(), concrete)
            assert str(answer.status_code) in operation["responses"], (method, path, answer.text)
            if answer.status_code >= 400:
                assert answer.json()["error"] not in ("no_such_path", "method_not_allowed"), (method, path)


async def test_schemas_are_named_components_and_errors_have_one_shape(mgmt: Mgmt) -> None:
    document = await _document(mgmt)
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z_]+)"', str(document).replace("'", '"')))
    assert refs <= set(schemas)
    assert schemas["CustomerInfo"]["required"][:2] == ["id", "name"]
    create = document["paths"]["/customers"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["name", "totalnum"] and body["additionalProperties"] is False
    assert body["properties"]["allow_ips"]["type"] == "array"
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "409"}
    assert document["components"]["securitySchemes"]["operatorToken"]["scheme"] == "bearer"
