"""Connector health as the dispatch processes report it: one row per process and link, read as one;
and the links the operator stopped."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.connectors import (
    ConnectorRow,
    LinkHealth,
    add_connector,
    connector_stats,
    connector_stats_by_process,
    record_stats,
    remove_connector,
    set_stopped,
    stopped_connectors,
)
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound
from smsplatform.store.settings import config_version
from tests.dispatch.support import run


def health(name: str, state: str = "bound", *, in_flight: int = 0, sent: int = 0, **more: Any) -> LinkHealth:
    return LinkHealth(name, state, in_flight, sent, errors=1, reports=sent, inbound=0, **more)


def read(db: Database) -> dict[str, dict[str, object]]:
    def load(conn: sa.Connection) -> dict[str, dict[str, object]]:
        return connector_stats(conn)

    return run(db, load)


def test_each_process_reports_its_own_links_and_the_list_sums_them(db: Database) -> None:
    at = now()
    run(
        db,
        record_stats,
        "host:1",
        [
            health("cmpp", in_flight=3, sent=100, since=at - 50, binds=1, window=16, submit_rate=20.0),
            health("smpp", sent=5, since=at - 10, binds=1, window=8),
        ],
        at,
    )
    failing = health(
        "cmpp",
        "backoff",
        in_flight=0,
        sent=50,
        since=at - 30,
        last_error="connect 10.0.0.1:7890: connection refused",
        last_error_at=at - 2,
        window=16,
    )
    run(db, record_stats, "host:2", [failing], at)
    stats = read(db)
    assert stats["cmpp"] == {
        "state": "backoff",  # not every process's link is bound
        "since": at - 30,  # since the first process went down
        "last_error": "connect 10.0.0.1:7890: connection refused",
        "last_error_at": at - 2,
        "in_flight": 3,
        "window": 32,  # in_flight of window, over both processes
        "binds": 1,
        "sent": 150,
        "errors": 2,
        "reports": 150,
        "inbound": 0,
        "submit_rate": 20.0,
        "processes": 2,
        "updated_at": at,
    }
    assert (stats["smpp"]["state"], stats["smpp"]["sent"], stats["smpp"]["processes"]) == ("bound", 5, 1)
    assert stats["smpp"]["since"] == at - 10

    # A later report replaces the process's earlier one, links it no longer runs included.
    run(db, record_stats, "host:1", [health("cmpp", sent=120)], at)
    stats = read(db)
    assert (stats["cmpp"]["sent"], stats["cmpp"]["state"]) == (170, "backoff")
    assert "smpp" not in stats


def test_a_link_is_bound_since_its_last_process_bound(db: Database) -> None:
    at = now()
    run(db, record_stats, "p1", [health("smgp", since=at - 300, binds=2)], at)
    run(db, record_stats, "p2", [health("smgp", since=at - 20, binds=2)], at)
    smgp = read(db)["smgp"]
    assert (smgp["state"], smgp["since"], smgp["binds"]) == ("bound", at - 20, 4)


def test_the_state_that_needs_the_operator_most_is_shown(db: Database) -> None:
    at = now()
    run(db, record_stats, "p1", [health("a", "stopped", since=at - 5)], at)
    run(db, record_stats, "p2", [health("a", "connecting", since=at - 9)], at)
    run(db, record_stats, "p3", [health("a", "backoff", since=at - 7)], at)
    assert (read(db)["a"]["state"], read(db)["a"]["since"]) == ("backoff", at - 9)


def test_the_latest_error_of_any_process_is_shown(db: Database) -> None:
    at = now()
    run(db, record_stats, "p1", [health("a", last_error="bind refused: old", last_error_at=at - 60)], at)
    run(
        db,
        record_stats,
        "p2",
        [health("a", last_error="no answer to enquire_link", last_error_at=at - 1)],
        at,
    )
    run(db, record_stats, "p3", [health("a")], at)
    assert read(db)["a"]["last_error"] == "no answer to enquire_link"
    assert read(db)["a"]["last_error_at"] == at - 1


def test_a_long_error_is_cut_to_the_column(db: Database) -> None:
    run(db, record_stats, "p1", [health("a", last_error="x" * 500, last_error_at=1)], now())
    assert read(db)["a"]["last_error"] == "x" * 200


def test_the_rows_of_each_process(db: Database) -> None:
    at = now()
    run(db, record_stats, "host:2", [health("cmpp", "backoff", since=at - 30, last_error="e", window=16)], at)
    run(db, record_stats, "host:1", [health("cmpp", sent=7, since=at - 50, binds=1, window=16)], at - 100)

    def load(conn: sa.Connection) -> dict[str, list[dict[str, object]]]:
        return connector_stats_by_process(conn)

    rows = run(db, load)["cmpp"]
    assert [(r["process"], r["state"]) for r in rows] == [("host:1", "not running"), ("host:2", "backoff")]
    assert rows[0] | {"updated_at": 0} == {
        "process": "host:1",
        "state": "not running",  # its last report is too old
        "since": at - 50,
        "last_error": "",
        "last_error_at": None,
        "in_flight": 0,
        "window": 16,
        "binds": 1,
        "sent": 7,
        "errors": 1,
        "reports": 7,
        "inbound": 0,
        "submit_rate": 0.0,
        "updated_at": 0,
    }


def test_a_link_nobody_reports_any_more_shows_as_not_running(db: Database) -> None:
    at = now()
    run(db, record_stats, "gone:1", [health("cmpp", sent=40)], at - 120)
    run(db, record_stats, "gone:2", [health("cmpp", sent=10, last_error="closed by peer")], at - 60)
    stats = read(db)
    assert (stats["cmpp"]["state"], stats["cmpp"]["sent"], stats["cmpp"]["processes"]) == (
        "not running",
        10,  # the last report's counters
        0,
    )
    assert stats["cmpp"]["last_error"] == "closed by peer"
    # A process that stopped long ago is forgotten when another one reports.
    run(db, record_stats, "live:3", [health("smpp")], at + 4000)
    assert set(read(db)) == {"smpp"}


def test_stopping_and_starting_links(db: Database) -> None:
    run(db, add_connector, ConnectorRow("cmpp-bj", "cmpp", "10.0.0.1", 7890, "901234", "secret"))

    def stopped() -> frozenset[str]:
        return run(db, stopped_connectors)

    def version() -> int:
        return run(db, config_version)

    assert stopped() == frozenset()
    before = version()
    assert run(db, set_stopped, "cmpp-bj", True)
    assert run(db, set_stopped, "sim-cmpp", True)  # a built-in simulated link
    assert stopped() == {"cmpp-bj", "sim-cmpp"}
    assert version() == before + 2  # running processes see it at their next refresh
    assert not run(db, set_stopped, "cmpp-bj", True)  # already stopped: nothing changes
    assert version() == before + 2

    assert run(db, set_stopped, "sim-cmpp", False)
    assert stopped() == {"cmpp-bj"}
    with pytest.raises(NotFound):
        run(db, set_stopped, "nowhere", True)

    # A removed connector is forgotten: one added later under its name starts as any new one.
    run(db, remove_connector, "cmpp-bj")
    assert stopped() == frozenset()
