"""Connector operations: protocol field limits checked before saving, edit, stop and start, health per
process, secrets masked, every change audited."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from smsplatform.admin import audit, connectors
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store import connectors as store
from smsplatform.store.clock import now
from smsplatform.store.connectors import ConnectorExists, LinkHealth
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound

ROOT = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)


def _add(conn: sa.Connection, name: str = "cm-gw", **extra: object) -> connectors.ConnectorInfo:
    settings: dict[str, object] = {
        "protocol": "cmpp",
        "host": "10.0.0.1",
        "port": 7890,
        "system_id": "901234",
        "password": "secret-pw",
        "source_number": "1069000",
        **extra,
    }
    return connectors.add_connector(conn, ROOT, name, **settings)  # type: ignore[arg-type]


def test_add_checks_each_protocols_field_limits_before_saving(db: Database) -> None:
    with db.engine.begin() as conn:
        with pytest.raises(ValueError, match=r"system id: CMPP's .* at most 6"):
            _add(conn, system_id="9012345")
        with pytest.raises(ValueError, match="port") as refused:
            _add(conn, "bad name", port=0, window=0)
        assert "name:" in str(refused.value) and "window:" in str(refused.value)
        with pytest.raises(ValueError, match="listen_port"):
            _add(conn, "cu-gw", protocol="sgip")
        with pytest.raises(ValueError, match="unknown carrier"):
            _add(conn, carriers=["orange"])
        assert store.list_connectors(conn) == []
        added = _add(conn, carriers=["Mobile"], options={"listen_password": "pw2", "encoding": "gbk"})
        with pytest.raises(ConnectorExists, match="exists already"):
            _add(conn)
        entry = audit.list_audit(conn, ROOT)[0]
    assert (added.protocol, added.carriers, added.password) == ("cmpp", ("mobile",), "******")
    assert added.options == {"encoding": "gbk", "listen_password": "******"}
    assert added.routes == ["mobile"] and added.health.state == "not running"
    assert (entry.action, entry.target) == ("connector.add", "connector cm-gw")
    assert "secret-pw" not in entry.after and "pw2" not in entry.after


def test_a_receipt_timeout_option_must_be_a_length_of_time(db: Database) -> None:
    with db.engine.begin() as conn:
        for bad in ("soon", "0", "-5"):
            with pytest.raises(ValueError, match="option receipt_timeout"):
                _add(conn, options={"receipt_timeout": bad})
        assert _add(conn, options={"receipt_timeout": "48h"}).options == {"receipt_timeout": "48h"}


def test_add_joins_an_operator_route_of_its_carriers_last(db: Database) -> None:
    with db.engine.begin() as conn:
        store.set_route(conn, "mobile", ["sim-cmpp"], builtin=["sim-cmpp"])
        _add(conn, carriers=["mobile", "unicom"])
        assert store.list_routes(conn) == {"mobile": ["sim-cmpp", "cm-gw"]}


def test_edit_changes_what_is_given_and_is_audited(db: Database) -> None:
    with db.engine.begin() as conn:
        _add(conn, tps=50, options={"encoding": "gbk", "service_id": "SVC"})
        edited = connectors.edit_connector(
            conn, ROOT, "cm-gw", host="10.0.0.2", tps=0, options={"encoding": ""}
        )
        unchanged = connectors.edit_connector(conn, ROOT, "cm-gw")
        with pytest.raises(ValueError, match="at most 6"):
            connectors.edit_connector(conn, ROOT, "cm-gw", system_id="12345678")
        with pytest.raises(NotFound, match="connector nosuch"):
            connectors.edit_connector(conn, ROOT, "nosuch", host="x")
        row = store.get_connector(conn, "cm-gw")
        entries = audit.list_audit(conn, ROOT, action="connector.edit")
    assert (edited.host, edited.tps, edited.options) == ("10.0.0.2", None, {"service_id": "SVC"})
    assert unchanged == edited and (row.host, row.password, row.system_id) == (
        "10.0.0.2",
        "secret-pw",
        "901234",
    )
    assert len(entries) == 1
    before, after = json.loads(entries[0].before), json.loads(entries[0].after)
    assert (before["host"], after["host"], before["tps"], after["tps"]) == ("10.0.0.1", "10.0.0.2", 50, None)
    assert before["password"] == after["password"] == "******"


def test_stop_start_and_remove(db: Database) -> None:
    with db.engine.begin() as conn:
        _add(conn)
        assert connectors.set_stopped(conn, ROOT, "cm-gw", True).stopped is True
        assert connectors.set_stopped(conn, ROOT, "cm-gw", True).stopped is True  # nothing changes
        assert connectors.set_stopped(conn, ROOT, "sim-smgp", True).builtin is True
        assert connectors.set_stopped(conn, ROOT, "cm-gw", False).stopped is False
        with pytest.raises(NotFound, match="connector nosuch"):
            connectors.set_stopped(conn, ROOT, "nosuch", True)
        with pytest.raises(Forbidden):
            connectors.set_stopped(conn, REVIEWER, "cm-gw", True)
        connectors.remove_connector(conn, ROOT, "cm-gw")
        with pytest.raises(NotFound):
            connectors.remove_connector(conn, ROOT, "cm-gw")
        listed = [c.name for c in connectors.list_connectors(conn, REVIEWER)]
        actions = [(e.action, e.target) for e in reversed(audit.list_audit(conn, ROOT))]
    assert listed == ["sim-cmpp", "sim-sgip", "sim-smgp", "sim-smpp"]
    assert actions == [
        ("connector.add", "connector cm-gw"),
        ("connector.stop", "connector cm-gw"),
        ("connector.stop", "connector sim-smgp"),
        ("connector.start", "connector cm-gw"),
        ("connector.remove", "connector cm-gw"),
    ]


def test_health_over_processes_and_per_process(db: Database) -> None:
    at = now()
    with db.engine.begin() as conn:
        _add(conn)
        store.record_stats(
            conn,
            "worker-1",
            [
                LinkHealth(
                    "cm-gw", "bound", 3, 100, 0, 90, 1, since=at - 60, binds=1, window=16, submit_rate=12.5
                )
            ],
            at,
        )
        store.record_stats(
            conn,
            "worker-2",
            [
                LinkHealth(
                    "cm-gw",
                    "backoff",
                    0,
                    50,
                    2,
                    40,
                    0,
                    since=at - 30,
                    last_error="bind refused: 14",
                    last_error_at=at - 31,
                    window=16,
                ),
                LinkHealth("sim-cmpp", "bound", 0, 0, 0, 0, 0, since=at - 100, binds=1, window=16),
            ],
            at,
        )
        listed = {c.name: c for c in connectors.list_connectors(conn, REVIEWER, simulators_on=False)}
        one = connectors.get_connector(conn, REVIEWER, "cm-gw")
    link = listed["cm-gw"]
    assert list(listed) == ["cm-gw", "sim-cmpp"] and listed["sim-cmpp"].builtin
    assert (link.health.state, link.health.since, link.health.last_error) == (
        "backoff",
        at - 30,
        "bind refused: 14",
    )
    assert (link.health.binds, link.health.window, link.health.in_flight, link.health.sent) == (1, 32, 3, 150)
    assert link.health.submit_rate == 12.5
    assert [(p.process, p.health.state, p.health.submit_rate) for p in link.processes] == [
        ("worker-1", "bound", 12.5),
        ("worker-2", "backoff", 0.0),
    ]
    assert one == link
