"""Connector health as the dispatch processes report it: one row per process and link, read as one."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.connectors import LinkHealth, connector_stats, record_stats
from smsplatform.store.database import Database
from tests.dispatch.support import run


def health(name: str, state: str = "bound", *, in_flight: int = 0, sent: int = 0) -> LinkHealth:
    return LinkHealth(name, state, in_flight, sent, errors=1, reports=sent, inbound=0)


def read(db: Database) -> dict[str, dict[str, object]]:
    def load(conn: sa.Connection) -> dict[str, dict[str, object]]:
        return connector_stats(conn)

    return run(db, load)


def test_each_process_reports_its_own_links_and_the_list_sums_them(db: Database) -> None:
    at = now()
    run(db, record_stats, "host:1", [health("cmpp", in_flight=3, sent=100), health("smpp", sent=5)], at)
    run(db, record_stats, "host:2", [health("cmpp", "connecting", in_flight=2, sent=50)], at)
    stats = read(db)
    assert stats["cmpp"] == {
        "state": "connecting",  # not every process's link is bound
        "in_flight": 5,
        "sent": 150,
        "errors": 2,
        "reports": 150,
        "inbound": 0,
        "processes": 2,
        "updated_at": at,
    }
    assert (stats["smpp"]["state"], stats["smpp"]["sent"], stats["smpp"]["processes"]) == ("bound", 5, 1)

    # A later report replaces the process's earlier one, links it no longer runs included.
    run(db, record_stats, "host:1", [health("cmpp", sent=120)], at)
    stats = read(db)
    assert (stats["cmpp"]["sent"], stats["cmpp"]["state"]) == (170, "connecting")
    assert "smpp" not in stats


def test_a_link_nobody_reports_any_more_shows_as_not_running(db: Database) -> None:
    at = now()
    run(db, record_stats, "gone:1", [health("cmpp", sent=40)], at - 120)
    run(db, record_stats, "gone:2", [health("cmpp", sent=10)], at - 60)
    stats = read(db)
    assert (stats["cmpp"]["state"], stats["cmpp"]["sent"], stats["cmpp"]["processes"]) == (
        "not running",
        10,  # the last report's counters
        0,
    )
    # A process that stopped long ago is forgotten when another one reports.
    run(db, record_stats, "live:3", [health("smpp")], at + 4000)
    assert set(read(db)) == {"smpp"}
