"""The dashboard's figures and chart series, from rollup rows as dispatch writes them (both backends)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from smsplatform.admin import dashboard
from smsplatform.admin.actors import Actor, Role, Via
from smsplatform.store import callbacks as outbox
from smsplatform.store import connectors, rollups
from smsplatform.store.database import Database
from smsplatform.store.rollups import DAY, HOUR, MINUTE, Tally
from tests.store.test_receivers import attempt, owe
from tests.store.test_search import add_message, seed

REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)
# Mid-afternoon, local time, whatever the zone: hours and minutes before it stay in the same day.
_t = time.localtime(1_760_000_000)
NOW = int(time.mktime((_t.tm_year, _t.tm_mon, _t.tm_mday, 15, 30, 20, 0, 0, -1)))


def traffic(
    conn: sa.Connection,
    at: int,
    *,
    carrier: str,
    connector: str,
    accepted: int = 0,
    delivered: int = 0,
    failed: int = 0,
    submit_s: int = 2,
    report_s: int = 5,
    customer_id: int = 1,
) -> None:
    """Messages accepted at `at - submit_s - report_s`, submitted `submit_s` later, finished at `at`."""
    tally = Tally()
    accepted_at = at - submit_s - report_s
    submitted_at = at - report_s
    if accepted:
        tally.accepted(accepted_at, {(customer_id, carrier, "verification"): accepted})
    finished = delivered + failed
    if finished:
        tally.submitted(
            submitted_at, connector, [(customer_id, carrier, "verification", accepted_at)] * finished
        )
        rows = [(customer_id, carrier, "verification", connector, "delivered", submitted_at)] * delivered
        rows += [(customer_id, carrier, "verification", connector, "undelivered", submitted_at)] * failed
        tally.finished(at, rows)
    tally.write(conn)


def test_today_and_the_last_hour_by_carrier_and_connector(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        # This minute and 30 minutes ago: in the last hour and today.
        traffic(conn, NOW, carrier="mobile", connector="cmpp-1", accepted=10, delivered=8, failed=2)
        traffic(
            conn,
            NOW - 1800,
            carrier="unicom",
            connector="sgip-1",
            accepted=4,
            delivered=1,
            failed=1,
            report_s=30,
        )
        # Three hours ago: today only.
        traffic(conn, NOW - 3 * HOUR, carrier="mobile", connector="cmpp-2", accepted=6, delivered=6)
        # Yesterday: neither.
        traffic(conn, NOW - DAY, carrier="mobile", connector="cmpp-1", accepted=100, delivered=100)
    with db.engine.connect() as conn:
        view = dashboard.overview(conn, REVIEWER, now=NOW)
    hour, today = view.last_hour, view.today
    assert (hour.accepted, hour.submitted, hour.delivered, hour.failed) == (14, 12, 9, 3)
    assert (today.accepted, today.delivered, today.failed, today.pending) == (20, 15, 3, 2)
    assert hour.delivery_rate == 0.75 and today.delivery_rate == pytest.approx(15 / 18, abs=1e-4)
    assert today.since == rollups.period_start(DAY, NOW)
    assert hour.until - hour.since == HOUR and hour.since <= NOW - 3540
    by_carrier = {b.name: b for b in hour.by_carrier}
    assert [b.name for b in hour.by_carrier] == ["mobile", "unicom"]  # the busiest first
    assert (by_carrier["mobile"].delivered, by_carrier["mobile"].delivery_rate) == (8, 0.8)
    assert by_carrier["unicom"].delivery_rate == 0.5
    # Medians within their latency bucket: 2 s to submit, 5 s or 30 s to the report.
    assert 1000 < (by_carrier["mobile"].median_submit_ms or 0) <= 2500
    assert 2500 < (by_carrier["mobile"].median_report_ms or 0) <= 5000
    assert 10000 < (by_carrier["unicom"].median_report_ms or 0) <= 30000
    by_connector = {b.name: b for b in today.by_connector}
    assert set(by_connector) == {"", "cmpp-1", "cmpp-2", "sgip-1"}
    assert by_connector[""].accepted == 20 and by_connector[""].delivered == 0  # accepted: before any link
    assert (by_connector["cmpp-2"].submitted, by_connector["cmpp-2"].delivery_rate) == (6, 1.0)


def test_an_empty_platform_shows_zeros_and_no_rates(db: Database) -> None:
    with db.engine.connect() as conn:
        view = dashboard.overview(conn, REVIEWER, now=NOW)
    assert (view.today.accepted, view.today.delivery_rate, view.today.median_report_ms) == (0, None, None)
    assert view.today.by_carrier == [] and view.links == [] and view.links_up == 0
    assert view.queue == dashboard.QueueDepth(0, 0, 0)
    assert view.callbacks == dashboard.CallbackBacklog(0, 0, 0)


def test_queue_depth_links_and_callback_backlog(db: Database) -> None:
    wall = int(time.time())
    with db.engine.begin() as conn:
        seed(conn)
        for state in ("queued", "queued", "submitting", "delivered"):
            add_message(conn, state=state)
        # Submitted over the last days: 9; of which reported 6 (5 delivered, 1 undelivered).
        tally = Tally()
        tally.submitted(wall - 2 * DAY, "cmpp-1", [(1, "mobile", "verification", wall - 2 * DAY)] * 4)
        tally.submitted(wall - 60, "cmpp-1", [(1, "mobile", "verification", wall - 61)] * 5)
        tally.finished(wall - 30, [(1, "mobile", "verification", "cmpp-1", "delivered", wall - 60)] * 5)
        tally.finished(wall - DAY, [(1, "mobile", "verification", "cmpp-1", "undelivered", wall - 2 * DAY)])
        # A message submitted long ago and never reported: out of the window.
        tally.submitted(wall - 30 * DAY, "cmpp-1", [(1, "mobile", "verification", wall - 30 * DAY)])
        tally.write(conn)
        connectors.record_stats(
            conn,
            "worker-1",
            [
                connectors.LinkHealth(
                    "cmpp-1", "bound", 3, 100, 0, 90, 0, since=wall - 500, binds=1, window=16
                ),
                connectors.LinkHealth(
                    "sgip-1", "backoff", 0, 0, 4, 0, 0, since=wall - 40, last_error="bind refused: 0x0e"
                ),
            ],
            wall,
        )
        owe(conn, 11, outbox.REPORT, 3, wall - 100)
        owe(conn, 21, outbox.REPORT, 1, wall - 100)
        attempt(conn, wall - 50, {(11, "report"): "HTTP 503"})
    with db.engine.connect() as conn:
        view = dashboard.overview(conn, REVIEWER, now=wall)
    assert view.queue == dashboard.QueueDepth(queued=2, submitting=1, awaiting_report=3)
    assert (view.links_up, view.links_down, view.links_stopped) == (1, 1, 0)
    cmpp, sgip = view.links
    assert (cmpp.name, cmpp.up, cmpp.in_flight, cmpp.window, cmpp.since) == (
        "cmpp-1",
        True,
        3,
        16,
        wall - 500,
    )
    assert (sgip.state, sgip.up, sgip.last_error) == ("backoff", False, "bind refused: 0x0e")
    assert view.callbacks == dashboard.CallbackBacklog(pending=4, failing=3, failing_receivers=1)


@pytest.mark.parametrize(
    ("window", "period", "points"), [("1h", MINUTE, 60), ("24h", HOUR, 24), ("30d", DAY, 30)]
)
def test_series_have_a_point_for_every_period_up_to_now(
    db: Database, window: str, period: int, points: int
) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        traffic(conn, NOW, carrier="mobile", connector="cmpp-1", accepted=3, delivered=2, failed=1)
        traffic(conn, NOW - 5 * period, carrier="telecom", connector="smgp-1", accepted=7, delivered=7)
        traffic(conn, NOW - points * period - DAY, carrier="mobile", connector="cmpp-1", accepted=50)
    with db.engine.connect() as conn:
        chart = dashboard.series(conn, REVIEWER, window=window, now=NOW)
        by_carrier = dashboard.series(conn, REVIEWER, window=window, now=NOW, by="carrier")
    assert (chart.window, chart.period, chart.by, len(chart.starts)) == (window, period, None, points)
    assert chart.starts[-1] == rollups.period_start(period, NOW)
    assert chart.starts == sorted(chart.starts) and len(set(chart.starts)) == points
    assert [p.start for p in chart.total] == chart.starts and chart.lines == []
    last = chart.total[-1]
    assert (last.accepted, last.delivered, last.failed, last.delivery_rate) == (
        3,
        2,
        1,
        pytest.approx(2 / 3, abs=1e-4),
    )
    assert sum(p.accepted for p in chart.total) == 10
    telecom, mobile = by_carrier.lines  # the busiest first
    assert (telecom.name, mobile.name) == ("telecom", "mobile")
    assert [p.start for p in telecom.points] == chart.starts
    assert sum(p.delivered for p in telecom.points) == 7 and telecom.points[-1].delivered == 0


def test_series_refuse_unknown_windows_and_groupings(db: Database) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(ValueError, match="unknown window '7d'"):
            dashboard.series(conn, REVIEWER, window="7d", now=NOW)
        with pytest.raises(ValueError, match="not 'customer'"):
            dashboard.series(conn, REVIEWER, window="1h", now=NOW, by="customer")
        assert dashboard.series(conn, REVIEWER, window="1h", now=NOW, by="").by is None
