"""/prefixes, /pins and /routes: which carrier a number belongs to, and which connectors carry it."""

from __future__ import annotations

from smsplatform.admin import routing
from smsplatform.admin.api.endpoint import Endpoint, from_settings

_CARRIER = "mobile, unicom, telecom or broadnet"
# Routes are shown and kept as dispatch follows them: with the built-in simulated carriers when the
# platform runs them.
_SIMULATORS = {"simulators_on": from_settings("simulators")}

ENDPOINTS = [
    Endpoint("GET", "/prefixes", routing.list_prefixes),
    Endpoint(
        "PUT",
        "/prefixes/{prefix}",
        routing.set_prefix,
        params={"prefix": "3 to 7 digits", "carrier": _CARRIER},
    ),
    Endpoint("DELETE", "/prefixes/{prefix}", routing.remove_prefix, "Remove an extra prefix"),
    Endpoint("GET", "/pins", routing.list_pins, "Numbers pinned to a carrier (携号转网)"),
    Endpoint(
        "PUT",
        "/pins/{mobile}",
        routing.set_pin,
        params={"mobile": "A mainland mobile number", "carrier": _CARRIER},
    ),
    Endpoint("DELETE", "/pins/{mobile}", routing.remove_pin, "Unpin a number: its prefix decides again"),
    Endpoint("GET", "/routes", routing.list_routes, supplied=_SIMULATORS),
    Endpoint(
        "PUT",
        "/routes/{carrier}",
        routing.set_route,
        supplied=_SIMULATORS,
        params={"carrier": _CARRIER, "names": "Connector names in failover order; empty: remove the route"},
    ),
]
