"""Connectors and routes in the console: links stopped and started, added, edited and removed;
routes, prefixes and pins set (both backends)."""

from __future__ import annotations

from smsplatform.admin import connectors, routing
from smsplatform.store.database import Database
from tests.admin.console.conftest import ROOT, Browser, World


def connector(db: Database, name: str) -> connectors.ConnectorInfo:
    with db.engine.begin() as conn:
        return connectors.get_connector(conn, ROOT, name)


async def test_a_built_in_link_is_stopped_and_started(admin: Browser, world: World, db: Database) -> None:
    page = await admin.get("/connectors")
    assert 'id="connector-sim-cmpp"' in page.text
    answer = await admin.post("/connectors/sim-cmpp/stop")
    assert answer.status_code == 303 and answer.headers["location"] == "/connectors#connector-sim-cmpp"
    assert connector(db, "sim-cmpp").stopped
    status = await admin.get("/connectors?part=status", headers={"HX-Request": "true"})
    assert 'action="/connectors/sim-cmpp/start"' in status.text
    await admin.post("/connectors/sim-cmpp/start")
    assert not connector(db, "sim-cmpp").stopped
    assert (await admin.post("/connectors/sim-cmpp/explode")).status_code == 404


async def test_a_connector_is_added_edited_and_removed(admin: Browser, world: World, db: Database) -> None:
    await admin.get("/connectors")
    form = {
        "name": "cmcc-1",
        "protocol": "cmpp",
        "host": "10.0.0.5",
        "port": "7890",
        "system_id": "901234",
        "password": "secret-pw",
        "window": "16",
        "carriers": "mobile",
        "options": "service_id=SMS",
    }
    answer = await admin.post("/connectors", form)
    assert answer.status_code == 303, answer.text
    too_long = await admin.post("/connectors", {**form, "name": "cmcc-2", "system_id": "1234567"})
    assert too_long.status_code == 400 and "system id" in too_long.text
    page = await admin.get("/connectors/cmcc-1")
    assert "secret-pw" not in page.text and "10.0.0.5" in page.text
    answer = await admin.post(
        "/connectors/cmcc-1", {"host": "10.0.0.6", "tps": "50", "carriers_given": "1", "carriers": "mobile"}
    )
    assert answer.status_code == 303
    edited = connector(db, "cmcc-1")
    assert (edited.host, edited.tps, edited.carriers) == ("10.0.0.6", 50, ("mobile",))
    assert edited.password == "******"  # kept, and never shown
    assert (await admin.post("/connectors/cmcc-1/remove")).status_code == 303
    assert (await admin.get("/connectors/cmcc-1")).status_code == 404


async def test_routes_prefixes_and_pins_are_set(admin: Browser, world: World, db: Database) -> None:
    await admin.get("/connectors")
    assert (
        await admin.post("/routing/routes", {"carrier": "unicom", "connectors": "sim-smpp, sim-sgip"})
    ).status_code == 303
    assert (
        await admin.post("/routing/prefixes/set", {"key": "1740", "carrier": "telecom"})
    ).status_code == 303
    assert (
        await admin.post("/routing/pins/set", {"key": "13800138000", "carrier": "unicom"})
    ).status_code == 303
    with db.engine.begin() as conn:
        routes = {r.carrier: [e.connector for e in r.connectors] for r in routing.list_routes(conn, ROOT)}
        assert routes["unicom"][:2] == ["sim-smpp", "sim-sgip"]
        assert [(p.prefix, p.carrier) for p in routing.list_prefixes(conn, ROOT)] == [("1740", "telecom")]
        assert [(p.mobile, p.carrier) for p in routing.list_pins(conn, ROOT)] == [("13800138000", "unicom")]
    page = (await admin.get("/connectors")).text
    assert "1740" in page and "13800138000" in page
    await admin.post("/routing/pins/remove", {"key": "13800138000"})
    bad = await admin.post("/routing/prefixes/set", {"key": "17", "carrier": "telecom"})
    assert bad.status_code == 400
    assert (await admin.post("/routing/carriers/set", {"key": "1"})).status_code == 404
