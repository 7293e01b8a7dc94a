"""The OpenAPI 3.1 document of the management API, made from the same operations as the handlers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from smsplatform.admin.actors import Permission
from smsplatform.admin.api import types
from smsplatform.admin.api.endpoint import CSV, JSON, PATH_SEGMENT, Operation, Param

SERVER = "/admin/api"
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A machine-readable code, e.g. not_found"},
        "message": {"type": "string", "description": "What went wrong, for a person"},
    },
    "additionalProperties": False,
}
_ERRORS = {
    "400": "Bad input: malformed JSON, a wrong type, an unknown or missing field, a value the rule refuses",
    "401": "No operator token, or one that is unknown, revoked or of a disabled operator",
    "403": "The operator's role does not allow this",
    "404": "No such thing",
    "409": "The thing's state does not allow this, or it exists already",
}
_ROLES = {
    Permission.VIEW: "any operator (admin or reviewer)",
    Permission.REVIEW: "any operator (admin or reviewer)",
    Permission.MANAGE: "an admin",
}
_DESCRIPTION = """\
Every action of the operator's console, as JSON. Authenticate with an operator token:
`Authorization: Bearer <token>` (create one with `smsplatform operator token create NAME`, or
`POST /tokens`). A reviewer's token can read and review; everything else needs an admin's.
Times are unix seconds. Errors answer `{"error": "<code>", "message": "<text>"}`. Every change is
written to the audit log (`GET /audit`) with the token's operator as its author."""


def _parameter(param: Param, where: str, schemas: types.Schemas) -> dict[str, Any]:
    # A query value is never null: leaving the parameter out is how a client says "none".
    tp = types.without_none(param.type) if types.is_optional(param.type) else param.type
    item = types.sequence_item(tp)
    schema = types.input_schema(schemas, tp)
    if where == "path" and schema.get("type") == "string":
        schema = {**schema, "pattern": f"^{PATH_SEGMENT.pattern}$"}
    described: dict[str, Any] = {
        "name": param.name,
        "in": where,
        "required": param.required,
        "schema": schema,
    }
    if item is not None:
        described["style"] = "form"
        described["explode"] = True
    if param.description:
        described["description"] = param.description
    return described


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _error_ref(code: str) -> dict[str, Any]:
    return {"$ref": f"#/components/responses/Error{code}"}


def _operation(operation: Operation, schemas: types.Schemas) -> dict[str, Any]:
    tag = operation.path.strip("/").split("/")[0].split(".")[0]
    described: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "tags": [tag],
    }
    description = f"Needs {_ROLES[operation.permission]}."
    if operation.description:
        description = operation.description + "\n\n" + description
    described["description"] = description
    parameters = [_parameter(p, "path", schemas) for p in operation.path_params]
    parameters += [_parameter(p, "query", schemas) for p in operation.query_params]
    if parameters:
        described["parameters"] = parameters
    if operation.body_params:
        descriptions = {p.name: p.description for p in operation.body_params}
        body = types.object_schema(schemas, operation.body_fields, operation.body_required, descriptions)
        described["requestBody"] = {
            "required": bool(operation.body_required),
            "content": {JSON: {"schema": body}},
        }
    responses: dict[str, Any] = {}
    if operation.empty_result:
        responses["204"] = {"description": "Done"}
    elif operation.media_type == CSV:
        responses[str(operation.status)] = {
            "description": "CSV, one row per record, a header row first",
            "content": {CSV: {"schema": {"type": "string"}}},
        }
    else:
        responses[str(operation.status)] = {
            "description": "Done" if operation.writes else "Found",
            "content": {JSON: {"schema": schemas.of(operation.result)}},
        }
    for code in _ERRORS:
        if code == "409" and not operation.writes:
            continue
        responses[code] = _error_ref(code)
    described["responses"] = responses
    return described


def openapi_document(operations: Sequence[Operation]) -> dict[str, Any]:
    schemas = types.Schemas()
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for operation in operations:
        if operation.name in seen:
            raise ValueError(f"two endpoints for {operation.name}: give each operation one path")
        seen.add(operation.name)
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, schemas)
    components = dict(sorted(schemas.components.items()))
    components["Error"] = _ERROR_SCHEMA
    tags = sorted({t for methods in paths.values() for op in methods.values() for t in op["tags"]})
    return {
        "openapi": "3.1.0",
        "info": {"title": "smsplatform management API", "version": "1", "description": _DESCRIPTION},
        "servers": [{"url": SERVER}],
        "security": [{"operatorToken": []}],
        "tags": [{"name": t} for t in tags],
        "paths": dict(sorted(paths.items(), key=lambda kv: _path_order(kv[0]))),
        "components": {
            "schemas": components,
            "responses": {f"Error{code}": _error(text) for code, text in _ERRORS.items()},
            "securitySchemes": {
                "operatorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An operator token (smsop_…), kept only as a hash on the server",
                }
            },
        },
    }


def _path_order(path: str) -> tuple[str, ...]:
    return tuple(re.sub(r"{.*?}", "~", part) for part in path.split("/"))
