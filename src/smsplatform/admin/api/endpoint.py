"""One line of the route table: an HTTP method and path bound to an operator operation.

An `Endpoint` names the operation; `Operation` reads its signature once, at start-up, and from it
knows where each argument comes from: a `{name}` in the path, the query string (GET and DELETE) or
the JSON body's fields (POST, PUT, PATCH), which are required (no default), and what the answer holds
(the return annotation). The handler and the OpenAPI document are both made from an `Operation`, so
the document describes exactly what the handler accepts.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

from smsplatform.admin.actors import Permission
from smsplatform.admin.api import types
from smsplatform.admin.context import AdminContext
from smsplatform.store.clock import now

JSON = "application/json"
CSV = "text/csv"
_PLACEHOLDER = re.compile(r"{([a-z_][a-z0-9_]*)}")
# What a path parameter may hold: no name, number or host has control characters, and a line break
# could not even reach the API (the listener's routing stops at one).
PATH_SEGMENT = re.compile(r"[^\x00-\x1f\x7f]+")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The first two parameters of every operation are supplied by the handler: a connection, or for an
# operation that streams its answer (a CSV export read in chunks) the database itself.
_SUPPLIED = ("conn", "actor")
_STREAMED = ("db", "actor")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # below /admin/api; `{name}` placeholders are the operation's arguments of that name
    op: Callable[..., Any]
    summary: str = ""  # the operation's docstring's first line when empty
    # What the caller's role must allow; by default reading for GET, managing for the rest. The
    # operation checks again: this makes a reviewer's refusal a 403 before any input is looked at.
    permission: Permission | None = None
    status: int = 200
    media_type: str = JSON
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)  # argument → description
    description: str = ""
    # Arguments the route supplies rather than the request: a fixed value (`/disable` is enabled=False)
    # or one of the listener's (the settings it runs with, the time of the request), computed for each
    # request. See `fixed`, `from_settings`, `the_settings` and `the_time`.
    supplied: Mapping[str, Callable[[AdminContext], Any]] = dataclasses.field(default_factory=dict)
    name: str = ""  # the operationId; by default `<module>.<function>`, which must then be unique


def fixed(value: Any) -> Callable[[AdminContext], Any]:
    return lambda _: value


def from_settings(name: str) -> Callable[[AdminContext], Any]:
    return lambda ctx: getattr(ctx.settings, name)


def the_settings(ctx: AdminContext) -> Any:
    return ctx.settings


def the_time(_: AdminContext) -> int:
    """Now, in unix seconds: operations that show "today" take it as an argument, to be testable."""
    return now()


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    type: Any
    required: bool
    description: str


class Operation:
    """An endpoint with its operation's signature read: the inputs, their places, and the result."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.method = endpoint.method.upper()
        self.path = endpoint.path
        op = endpoint.op
        self.op = op
        self.name = endpoint.name or f"{op.__module__.rsplit('.', 1)[-1]}.{op.__name__}"
        self.supplied = dict(endpoint.supplied)
        self.writes = self.method != "GET"
        self.permission = endpoint.permission or (Permission.VIEW if not self.writes else Permission.MANAGE)
        doc = inspect.getdoc(op) or ""
        self.summary = endpoint.summary or (doc.split("\n\n")[0].replace("\n", " ") if doc else self.name)
        self.description = endpoint.description

        hints = types.hints(op)
        signature = inspect.signature(op)
        names = list(signature.parameters)
        self.streams = tuple(names[:2]) == _STREAMED
        if tuple(names[:2]) != _SUPPLIED and not self.streams:
            raise TypeError(f"{self.name}: an operation's first parameters are (conn, actor) or (db, actor)")
        if self.streams and (self.method != "GET" or endpoint.media_type == JSON):
            raise TypeError(f"{self.name}: only a GET of a non-JSON answer streams")
        in_path = _PLACEHOLDER.findall(self.path)
        self.path_params: list[Param] = []
        self.query_params: list[Param] = []
        self.body_params: list[Param] = []
        unknown = set(self.supplied) - set(names[2:])
        if unknown:
            raise TypeError(f"{self.name}: supplies {sorted(unknown)}, which it does not take")
        for name in names[2:]:
            if name in self.supplied:
                continue
            parameter = signature.parameters[name]
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(f"{self.name}: *args and **kwargs cannot be described")
            required = parameter.default is inspect.Parameter.empty
            param = Param(name, hints[name], required, endpoint.params.get(name, ""))
            if name in in_path:
                if not types.is_text_type(param.type):
                    raise TypeError(f"{self.name}: path parameter {name} must be a plain value")
                self.path_params.append(dataclasses.replace(param, required=True))
            elif self.method in _BODY_METHODS:
                self.body_params.append(param)
            else:
                item = types.sequence_item(param.type)
                if not types.is_text_type(param.type if item is None else item):
                    raise TypeError(f"{self.name}: query parameter {name} must be plain values")
                self.query_params.append(param)
        given_by_request = set(names[2:]) - set(self.supplied)
        described = set(endpoint.params) - given_by_request
        if described:
            raise TypeError(f"{self.name}: describes {sorted(described)}, which a request does not give")
        missing = set(in_path) - {p.name for p in self.path_params}
        if missing:
            raise TypeError(f"{self.name}: {self.path} names {sorted(missing)}, which it does not take")
        self.body_fields = {p.name: p.type for p in self.body_params}
        self.body_required = {p.name for p in self.body_params if p.required}
        self.result = hints.get("return", Any)
        self.empty_result = self.result is type(None) or self.result is None
        if self.empty_result:
            self.status = 204
        else:
            self.status = endpoint.status
        self.media_type = endpoint.media_type

    def supplied_values(self, ctx: AdminContext) -> dict[str, Any]:
        return {name: supply(ctx) for name, supply in self.supplied.items()}

    def parse_path(self, values: Mapping[str, str]) -> dict[str, Any]:
        parsed = {}
        for p in self.path_params:
            value = values[p.name]
            if not PATH_SEGMENT.fullmatch(value):
                raise types.BadInput(f"{p.name} may not contain control characters")
            parsed[p.name] = types.parse_text(value, p.type, p.name)
        return parsed

    def parse_query(self, query: list[tuple[str, str]]) -> dict[str, Any]:
        known = {p.name: p for p in self.query_params}
        given: dict[str, list[str]] = {}
        for key, value in query:
            if key not in known:
                listed = ", ".join(known) or "none"
                raise types.BadInput(f"unknown query parameter {key}; known: {listed}")
            given.setdefault(key, []).append(value)
        parsed: dict[str, Any] = {}
        for param in self.query_params:
            values = given.get(param.name)
            if values is None:
                if param.required:
                    raise types.BadInput(f"query parameter {param.name} is required")
                continue
            item = types.sequence_item(param.type)
            if item is not None:
                parsed[param.name] = [types.parse_text(v, item, param.name) for v in values]
            elif len(values) > 1:
                raise types.BadInput(f"query parameter {param.name} is given more than once")
            else:
                parsed[param.name] = types.parse_text(values[0], param.type, param.name)
        return parsed

    def parse_body(self, body: Any) -> dict[str, Any]:
        if not self.body_params:
            return {}
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise types.BadInput("the request body must be a JSON object")
        return types.parse_object(body, self.body_fields, self.body_required)
