"""Connectors through the management API: add with the protocol's limits checked, edit, stop, start,
remove; health and secrets as an operator sees them."""

from __future__ import annotations

from typing import Any

from tests.admin.api.conftest import Mgmt

CMPP: dict[str, Any] = {
    "name": "cmcc-1",
    "protocol": "cmpp",
    "host": "smsc.example",
    "port": 7890,
    "system_id": "901234",
    "password": "s3cret",
    "source_number": "1065900",
    "carriers": ["mobile"],
}


async def test_a_connector_is_added_edited_stopped_started_and_removed(mgmt: Mgmt) -> None:
    added = await mgmt.client.post("/connectors", json=CMPP)
    assert added.status_code == 201, added.text
    info = added.json()
    assert (info["name"], info["protocol"], info["password"], info["stopped"]) == (
        "cmcc-1",
        "cmpp",
        "******",
        False,
    )
    assert info["health"]["state"] == "not running" and info["builtin"] is False
    assert (await mgmt.client.post("/connectors", json=CMPP)).status_code == 409

    edited = await mgmt.ok(
        "PATCH", "/connectors/cmcc-1", json={"window": 32, "tps": 100, "options": {"x": "1"}}
    )
    assert (edited["window"], edited["tps"], edited["options"]) == (32, 100, {"x": "1"})
    assert (await mgmt.ok("PATCH", "/connectors/cmcc-1", json={"tps": 0}))["tps"] is None

    assert (await mgmt.ok("POST", "/connectors/cmcc-1/stop"))["stopped"] is True
    assert (await mgmt.reviewer.post("/connectors/cmcc-1/start")).status_code == 403
    assert (await mgmt.ok("POST", "/connectors/cmcc-1/start"))["stopped"] is False
    listed = {c["name"]: c for c in await mgmt.ok("GET", "/connectors", as_reviewer=True)}
    assert "cmcc-1" in listed and any(c["builtin"] for c in listed.values())

    assert (await mgmt.client.delete("/connectors/cmcc-1")).status_code == 204
    assert (await mgmt.client.get("/connectors/cmcc-1")).status_code == 404
    actions = [e["action"] for e in await mgmt.ok("GET", "/audit", params={"action": "connector"})]
    assert actions == [
        "connector.remove",
        "connector.start",
        "connector.stop",
        "connector.edit",
        "connector.edit",
        "connector.add",
    ]
    assert all("s3cret" not in str(e) for e in await mgmt.ok("GET", "/audit"))


async def test_each_protocol_s_field_limits_are_checked_before_saving(mgmt: Mgmt) -> None:
    too_long = await mgmt.client.post("/connectors", json={**CMPP, "system_id": "9012345"})
    assert too_long.status_code == 400 and "system" in too_long.json()["message"].lower()
    for bad in ({"protocol": "carrier-pigeon"}, {"port": 0}, {"port": "7890"}, {"carriers": ["martian"]}):
        answer = await mgmt.client.post("/connectors", json={**CMPP, **bad})
        assert answer.status_code == 400, (bad, answer.text)
    assert (await mgmt.client.get("/connectors/cmcc-1")).status_code == 404


async def test_a_built_in_simulated_link_can_be_stopped_and_started(mgmt: Mgmt) -> None:
    builtin = next(c for c in await mgmt.ok("GET", "/connectors") if c["builtin"])
    assert (await mgmt.ok("POST", f"/connectors/{builtin['name']}/stop"))["stopped"] is True
    assert (await mgmt.ok("POST", f"/connectors/{builtin['name']}/start"))["stopped"] is False
    assert (await mgmt.client.post("/connectors/nosuch/stop")).status_code == 404
