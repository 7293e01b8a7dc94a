"""Connectors and routes: each link's health, merged and per process (state, since when, last error,
binds, window in use, submits per second, errors), refreshed in place; add, edit, remove, stop and
start a link; the routes per carrier in failover order with where each entry comes from; prefixes and
pinned numbers."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import connectors, routing
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.audit import MASK
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import done, posted_form, view
from smsplatform.domain.connectors import PROTOCOLS
from smsplatform.domain.numbers import Carrier
from smsplatform.store.errors import NotFound

# How often the status table asks for a fresh copy (processes report every few seconds).
REFRESH_SECONDS = 3


def _simulators_on(request: Request) -> bool:
    return console_of(request).ctx.settings.simulators


async def _links(request: Request, actor: Actor) -> dict[str, Any]:
    found = await console_of(request).read(
        connectors.list_connectors, actor, simulators_on=_simulators_on(request)
    )
    return {"links": found, "refresh": REFRESH_SECONDS}


@view()
async def connectors_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    if request.query_params.get("part") == "status":  # the status table alone, for its refresh
        return console.render(request, "partials/link_status.html", await _links(request, actor))
    on = _simulators_on(request)
    values = {
        **await _links(request, actor),
        "routes": await console.read(routing.list_routes, actor, simulators_on=on),
        "prefixes": await console.read(routing.list_prefixes, actor),
        "pins": await console.read(routing.list_pins, actor),
        "protocols": PROTOCOLS,
        "carriers": [c.value for c in Carrier],
    }
    return console.render(request, "connectors.html", values)


def _options(text: str) -> dict[str, str]:
    """`key=value` lines (protocol options)."""
    found = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"options: one key=value a line, not {line.strip()[:40]!r}")
        found[key.strip()] = value.strip()
    return found


def _settings(request: Request, form: FormData, *, editing: bool) -> dict[str, Any]:
    """The connector form's fields as the operation's arguments; on an edit, a field left empty keeps
    its value (the password above all: it is never shown)."""

    def number(name: str, key: str) -> int | None:
        return forms.optional_int(form, name, label=tr(request, key))

    values: dict[str, Any] = {
        "protocol": forms.text(form, "protocol") or None,
        "host": forms.text(form, "host") or None,
        "port": number("port", "connectors.port"),
        "system_id": forms.text(form, "system_id") or None,
        "password": forms.text(form, "password") or None,
        "window": number("window", "connectors.window"),
        "tps": number("tps", "connectors.tps"),
        "source_number": forms.text(form, "source_number"),
        "carriers": [c for c in form.getlist("carriers") if isinstance(c, str)],
        "options": _options(forms.text(form, "options")),
    }
    if editing:
        # The form shows the current values: an emptied rate cap means none; secrets are shown masked
        # and come back so, which keeps them.
        values["tps"] = values["tps"] or 0
        values["options"] = {k: v for k, v in values["options"].items() if v != MASK}
        return {k: v for k, v in values.items() if v is not None}
    missing = [k for k in ("protocol", "host", "port", "system_id") if values[k] is None]
    if missing:
        raise ValueError(tr(request, "connectors.missing", fields=", ".join(missing)))
    values["password"] = values["password"] or ""
    if values["window"] is None:
        del values["window"]
    return values


@view(Permission.MANAGE)
async def add_connector(request: Request, actor: Actor) -> Response:
    form = await posted_form(request)
    name = forms.text(form, "name")
    settings = _settings(request, form, editing=False)
    await console_of(request).write(
        connectors.add_connector, actor, name, **settings, simulators_on=_simulators_on(request)
    )
    return done(request, f"/connectors#connector-{name}", tr(request, "connectors.added", name=name))


@view()
async def connector_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    name = request.path_params["name"]
    found = await console.read(connectors.get_connector, actor, name, simulators_on=_simulators_on(request))
    return console.render(
        request,
        "connector.html",
        {"c": found, "protocols": PROTOCOLS, "carriers": [c.value for c in Carrier]},
    )


@view(Permission.MANAGE)
async def edit_connector(request: Request, actor: Actor) -> Response:
    name = request.path_params["name"]
    form = await posted_form(request)
    settings = _settings(request, form, editing=True)
    if not forms.checkbox(form, "carriers_given"):
        settings.pop("carriers", None)
    await console_of(request).write(
        connectors.edit_connector, actor, name, **settings, simulators_on=_simulators_on(request)
    )
    return done(request, f"/connectors/{name}", tr(request, "common.saved"))


@view(Permission.MANAGE)
async def remove_connector(request: Request, actor: Actor) -> Response:
    name = request.path_params["name"]
    await console_of(request).write(connectors.remove_connector, actor, name)
    return done(request, "/connectors", tr(request, "connectors.removed", name=name))


@view(Permission.MANAGE)
async def stop_or_start(request: Request, actor: Actor) -> Response:
    name, verb = request.path_params["name"], request.path_params["verb"]
    if verb not in ("stop", "start"):
        raise NotFound(f"no action {verb}")
    stopped = verb == "stop"
    await console_of(request).write(
        connectors.set_stopped, actor, name, stopped, simulators_on=_simulators_on(request)
    )
    key = "connectors.stopping" if stopped else "connectors.starting"
    return done(request, f"/connectors#connector-{name}", tr(request, key, name=name))


@view(Permission.MANAGE)
async def set_route(request: Request, actor: Actor) -> Response:
    form = await posted_form(request)
    carrier = forms.text(form, "carrier")
    names = [] if forms.checkbox(form, "clear") else forms.words(forms.text(form, "connectors"))
    await console_of(request).write(
        routing.set_route, actor, carrier, names, simulators_on=_simulators_on(request)
    )
    return done(request, "/connectors#routes", tr(request, "common.saved"))


@view(Permission.MANAGE)
async def prefix_or_pin(request: Request, actor: Actor) -> Response:
    """Set or remove a prefix (`/routing/prefixes/set|remove`) or a pin (`/routing/pins/…`)."""
    form = await posted_form(request)
    what, verb = request.path_params["what"], request.path_params["verb"]
    key, carrier = forms.text(form, "key"), forms.text(form, "carrier")
    console = console_of(request)
    if (what, verb) == ("prefixes", "set"):
        await console.write(routing.set_prefix, actor, key, carrier)
    elif (what, verb) == ("prefixes", "remove"):
        await console.write(routing.remove_prefix, actor, key)
    elif (what, verb) == ("pins", "set"):
        await console.write(routing.set_pin, actor, key, carrier)
    elif (what, verb) == ("pins", "remove"):
        await console.write(routing.remove_pin, actor, key)
    else:
        raise NotFound(f"no {what} {verb}")
    return done(request, f"/connectors#{what}", tr(request, "common.saved"))


def routes() -> list[BaseRoute]:
    return [
        Route("/connectors", connectors_page, methods=["GET"]),
        Route("/connectors", add_connector, methods=["POST"]),
        Route("/routing/routes", set_route, methods=["POST"]),
        Route("/routing/{what:str}/{verb:str}", prefix_or_pin, methods=["POST"]),
        Route("/connectors/{name:str}", connector_page, methods=["GET"]),
        Route("/connectors/{name:str}", edit_connector, methods=["POST"]),
        Route("/connectors/{name:str}/remove", remove_connector, methods=["POST"]),
        Route("/connectors/{name:str}/{verb:str}", stop_or_start, methods=["POST"]),
    ]
