"""Prefixes, pins and routes through the management API."""

from __future__ import annotations

from smsplatform.domain.routes import SIMULATED_LINKS
from tests.admin.api.conftest import Mgmt


async def test_prefixes_and_pins_are_set_listed_and_removed(mgmt: Mgmt) -> None:
    assert await mgmt.ok("PUT", "/prefixes/1999", json={"carrier": "telecom"}) == {
        "prefix": "1999",
        "carrier": "telecom",
    }
    assert await mgmt.ok("GET", "/prefixes", as_reviewer=True) == [{"prefix": "1999", "carrier": "telecom"}]
    assert (await mgmt.client.put("/prefixes/19x", json={"carrier": "telecom"})).status_code == 400
    assert (await mgmt.client.put("/prefixes/1999", json={"carrier": "martian"})).status_code == 400
    assert (await mgmt.ok("DELETE", "/prefixes/1999"))["carrier"] == "telecom"
    assert (await mgmt.client.delete("/prefixes/1999")).status_code == 404

    pinned = await mgmt.ok("PUT", "/pins/+8613800138000", json={"carrier": "unicom"})
    assert pinned == {"mobile": "13800138000", "carrier": "unicom"}
    assert await mgmt.ok("GET", "/pins") == [pinned]
    assert (await mgmt.reviewer.delete("/pins/13800138000")).status_code == 403
    await mgmt.ok("DELETE", "/pins/13800138000")
    assert await mgmt.ok("GET", "/pins") == []
    actions = [e["action"] for e in await mgmt.ok("GET", "/audit")]
    assert actions[:4] == ["pin.remove", "pin.set", "prefix.remove", "prefix.set"]


async def test_routes_show_where_each_entry_comes_from(mgmt: Mgmt) -> None:
    routes = {r["carrier"]: r["connectors"] for r in await mgmt.ok("GET", "/routes", as_reviewer=True)}
    assert set(routes) >= {"mobile", "unicom", "telecom"}
    assert all(entry["source"] for entries in routes.values() for entry in entries)
    assert (await mgmt.client.put("/routes/martian", json={"names": []})).status_code == 400
    assert (await mgmt.reviewer.put("/routes/mobile", json={"names": []})).status_code == 403


async def test_a_route_is_set_to_known_connectors_only_and_cleared(mgmt: Mgmt) -> None:
    builtin = sorted(SIMULATED_LINKS)[-1]
    unknown = await mgmt.client.put("/routes/mobile", json={"names": ["nosuch"]})
    assert unknown.status_code == 404 and "nosuch" in unknown.json()["message"]
    route = await mgmt.ok("PUT", "/routes/mobile", json={"names": [builtin]})
    assert route == {"carrier": "mobile", "connectors": [{"connector": builtin, "source": "route"}]}
    cleared = await mgmt.ok("PUT", "/routes/mobile", json={"names": []})
    assert all(entry["source"] != "route" for entry in cleared["connectors"])
