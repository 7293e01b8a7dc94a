"""Prefixes, pins and routes: the effective routes as dispatch follows them, each with its source."""

from __future__ import annotations

import json

import pytest

from smsplatform.admin import audit, routing
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.admin.routing import RouteEntry
from smsplatform.store import connectors
from smsplatform.store.connectors import ConnectorRow
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound

ROOT = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)


def test_prefixes_and_pins_are_audited(db: Database) -> None:
    with db.engine.begin() as conn:
        assert routing.set_prefix(conn, ROOT, "1990001", "Unicom") == routing.PrefixInfo("1990001", "unicom")
        routing.set_prefix(conn, ROOT, "1990001", "telecom")
        assert routing.list_prefixes(conn, REVIEWER) == [routing.PrefixInfo("1990001", "telecom")]
        assert routing.remove_prefix(conn, ROOT, "1990001").carrier == "telecom"
        assert routing.set_pin(conn, ROOT, "+8613800138000", "telecom").mobile == "13800138000"
        assert routing.list_pins(conn, REVIEWER) == [routing.PinInfo("13800138000", "telecom")]
        assert routing.remove_pin(conn, ROOT, "8613800138000").carrier == "telecom"
        assert routing.list_pins(conn, ROOT) == []
        entries = list(reversed(audit.list_audit(conn, ROOT)))
    assert [(e.action, e.target) for e in entries] == [
        ("prefix.set", "prefix 1990001"),
        ("prefix.set", "prefix 1990001"),
        ("prefix.remove", "prefix 1990001"),
        ("pin.set", "pin 13800138000"),
        ("pin.remove", "pin 13800138000"),
    ]
    assert (json.loads(entries[1].before), json.loads(entries[1].after)) == (
        {"carrier": "unicom"},
        {"carrier": "telecom"},
    )


def test_prefix_and_pin_refusals(db: Database) -> None:
    with db.engine.begin() as conn:
        with pytest.raises(ValueError, match="3 to 7 digits"):
            routing.set_prefix(conn, ROOT, "19", "mobile")
        with pytest.raises(ValueError, match="unknown carrier"):
            routing.set_prefix(conn, ROOT, "199", "orange")
        with pytest.raises(ValueError, match="not a mainland mobile number"):
            routing.set_pin(conn, ROOT, "12345", "mobile")
        with pytest.raises(NotFound, match="prefix 1990"):
            routing.remove_prefix(conn, ROOT, "1990")
        with pytest.raises(NotFound, match="pin 13800138000"):
            routing.remove_pin(conn, ROOT, "13800138000")
        with pytest.raises(Forbidden):
            routing.set_pin(conn, REVIEWER, "13800138000", "mobile")


def test_effective_routes_name_their_source(db: Database) -> None:
    row = ConnectorRow("cm-gw", "cmpp", "10.0.0.1", 7890, "901234", "pw", carriers=("mobile",))
    with db.engine.begin() as conn:
        fresh = {r.carrier: r.connectors for r in routing.list_routes(conn, ROOT, simulators_on=True)}
        connectors.add_connector(conn, row)
        declared = {r.carrier: r.connectors for r in routing.list_routes(conn, ROOT, simulators_on=True)}
        routed = routing.set_route(conn, ROOT, "mobile", ["sim-cmpp", "cm-gw"], simulators_on=True)
        without = {r.carrier: r.connectors for r in routing.list_routes(conn, ROOT, simulators_on=False)}
        cleared = routing.set_route(conn, ROOT, "mobile", [], simulators_on=True)
        with pytest.raises(NotFound, match="nosuch"):
            routing.set_route(conn, ROOT, "unicom", ["nosuch"], simulators_on=True)
        with pytest.raises(NotFound, match="sim-smpp"):
            routing.set_route(conn, ROOT, "unicom", ["sim-smpp"], simulators_on=False)
        entries = list(reversed(audit.list_audit(conn, ROOT, action="route")))
    assert list(fresh) == ["mobile", "unicom", "telecom", "broadnet"]
    assert fresh["mobile"] == [RouteEntry("sim-cmpp", "built-in default")]
    assert fresh["broadnet"] == [RouteEntry("sim-smgp", "built-in default")]
    assert declared["mobile"] == [RouteEntry("cm-gw", "declared")]
    assert routed.connectors == [RouteEntry("sim-cmpp", "route"), RouteEntry("cm-gw", "route")]
    assert without["unicom"] == [] and without["mobile"][0].source == "route"
    assert cleared.connectors == [RouteEntry("cm-gw", "declared")]
    assert [(e.action, json.loads(e.after)) for e in entries] == [
        ("route.set", {"connectors": ["sim-cmpp", "cm-gw"]}),
        ("route.clear", {"connectors": []}),
    ]
