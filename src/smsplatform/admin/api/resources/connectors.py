"""/connectors: links to SMSCs with their health per process; add, edit, remove, stop and start."""

from __future__ import annotations

from smsplatform.admin import connectors
from smsplatform.admin.api.endpoint import Endpoint, fixed, from_settings

_SIMULATORS = {"simulators_on": from_settings("simulators")}
_NAME = {"name": "The connector's name (a built-in simulated link's too, for stop and start)"}
_FIELDS = {
    "protocol": "smpp, cmpp (3.0), cmpp2, sgip or smgp",
    "host": "The SMSC's host name or address",
    "port": "The SMSC's port",
    "system_id": "Login (CMPP: the 6-character source address)",
    "password": "Login password; never shown again",
    "window": "Unanswered submits a session may have",
    "tps": "Submits per second cap; leave out for none",
    "source_number": "The number messages are sent from; sub-accounts' extensions are appended",
    "carriers": "Carriers it serves: mobile, unicom, telecom, broadnet",
    "options": "Protocol options (e.g. service_id, listen_port for SGIP); max_binds: links bound at once "
    "across every node",
}

ENDPOINTS = [
    Endpoint("GET", "/connectors", connectors.list_connectors, supplied=_SIMULATORS),
    Endpoint(
        "GET",
        "/connectors/{name}",
        connectors.get_connector,
        "One connector with its health",
        supplied=_SIMULATORS,
        params=_NAME,
    ),
    Endpoint(
        "POST",
        "/connectors",
        connectors.add_connector,
        status=201,
        supplied=_SIMULATORS,
        params={"name": f"1 to {connectors.MAX_NAME} letters, digits, '.', '_' or '-'", **_FIELDS},
    ),
    Endpoint(
        "PATCH",
        "/connectors/{name}",
        connectors.edit_connector,
        "Change a connector's settings",
        description="Fields left out (or null) are kept; `tps` 0 removes the cap; `options` are merged "
        "into the connector's, an empty value removing its key. Running links are replaced.",
        supplied=_SIMULATORS,
        params={**_NAME, **_FIELDS},
    ),
    Endpoint("DELETE", "/connectors/{name}", connectors.remove_connector, params=_NAME),
    Endpoint(
        "POST",
        "/connectors/{name}/stop",
        connectors.set_stopped,
        "Stop a link: it unbinds gracefully and its carriers fail over to the next of their route",
        supplied={"stopped": fixed(True), **_SIMULATORS},
        params=_NAME,
        name="connectors.stop",
    ),
    Endpoint(
        "POST",
        "/connectors/{name}/start",
        connectors.set_stopped,
        "Start a stopped link again",
        supplied={"stopped": fixed(False), **_SIMULATORS},
        params=_NAME,
        name="connectors.start",
    ),
]
