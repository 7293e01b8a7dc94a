"""The dashboard's figures and the series behind its charts.

Every figure comes from the traffic and latency rollups (`store/rollups.py`: rows per minute, hour and
local day, kept as messages change state) or from indexes of what is in flight, never from a scan of
the message table: a day of ten million messages is a few hundred rollup rows.

Windows: "today" is the server-local day so far (the day rows); "the last hour" is the 60 minutes up to
and including the current one (the minute rows). Charts: 1h in minutes, 24h in hours, 30d in local
days, the current period last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import backlog as in_flight
from smsplatform.store import connectors as links
from smsplatform.store import receivers, rollups
from smsplatform.store.rollups import DAY, HOUR, MINUTE, REPORT, SUBMIT, Figures, Histogram

# How far back "submitted, awaiting a report" looks (see `_awaiting_report`).
AWAITING_REPORT_DAYS = 7

WINDOWS = {"1h": (MINUTE, 60), "24h": (HOUR, 24), "30d": (DAY, 30)}  # window → (period, points)
SERIES_BY = ("carrier", "connector")


def _rate(figures: Figures) -> float | None:
    rate = figures.delivery_rate
    return None if rate is None else round(rate, 4)


def _median(histogram: Histogram | None) -> float | None:
    median = None if histogram is None else histogram.quantile(0.5)
    return None if median is None else round(median, 1)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """One carrier's or connector's share of a window. A connector named "" holds what no connector
    has taken yet: messages accepted, and those that failed before any SMSC acknowledged them."""

    name: str
    accepted: int
    submitted: int
    delivered: int
    failed: int
    delivery_rate: float | None  # delivered of final, 0..1; None when none is final
    median_submit_ms: float | None  # accepted → acknowledged by the SMSC
    median_report_ms: float | None  # acknowledged → final status report


@dataclass(frozen=True, slots=True)
class WindowFigures:
    since: int
    until: int
    accepted: int
    submitted: int
    delivered: int
    failed: int
    pending: int  # accepted in the window and not final yet (as far as the window's rows tell)
    delivery_rate: float | None
    median_submit_ms: float | None
    median_report_ms: float | None
    by_carrier: list[Breakdown]
    by_connector: list[Breakdown]


def _breakdown(
    traffic: Mapping[tuple[Any, ...], Figures],
    submit: Mapping[tuple[Any, ...], Histogram],
    report: Mapping[tuple[Any, ...], Histogram],
) -> list[Breakdown]:
    names = {str(key[0]) for key in (*traffic, *submit, *report)}
    found = []
    for name in names:
        figures = traffic.get((name,), Figures())
        found.append(
            Breakdown(
                name=name,
                accepted=figures.accepted,
                submitted=figures.submitted,
                delivered=figures.delivered,
                failed=figures.failed,
                delivery_rate=_rate(figures),
                median_submit_ms=_median(submit.get((name,))),
                median_report_ms=_median(report.get((name,))),
            )
        )
    # The busiest first.
    found.sort(key=lambda b: (-(b.accepted + b.submitted + b.delivered + b.failed), b.name))
    return found


def _window(conn: sa.Connection, period: int, since: int, until: int) -> WindowFigures:
    def traffic(*by: str) -> dict[tuple[Any, ...], Figures]:
        return rollups.traffic(conn, period=period, since=since, until=until, by=by)

    def latency(metric: str, *by: str) -> dict[tuple[Any, ...], Histogram]:
        return rollups.latency(conn, metric=metric, period=period, since=since, until=until, by=by)

    total = traffic()[()]
    return WindowFigures(
        since=since,
        until=until,
        accepted=total.accepted,
        submitted=total.submitted,
        delivered=total.delivered,
        failed=total.failed,
        pending=total.pending,
        delivery_rate=_rate(total),
        median_submit_ms=_median(latency(SUBMIT)[()]),
        median_report_ms=_median(latency(REPORT)[()]),
        by_carrier=_breakdown(traffic("carrier"), latency(SUBMIT, "carrier"), latency(REPORT, "carrier")),
        by_connector=_breakdown(
            traffic("connector"), latency(SUBMIT, "connector"), latency(REPORT, "connector")
        ),
    )


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queued: int  # waiting for a dispatcher (retries not yet due included)
    submitting: int  # claimed, not yet answered by the SMSC
    awaiting_report: int  # acknowledged by the SMSC, no final status report yet (see below)


def _awaiting_report(conn: sa.Connection, now: int) -> int:
    """Messages submitted in the last AWAITING_REPORT_DAYS local days without a final report yet: the
    days' submitted count less the reports of submitted messages (the "report" latency rows count
    exactly those). The message table has no index by this state, and counting it would read every
    row of those days; the rollups give it in a few dozen rows. Messages submitted before the window
    and finished inside it make the figure a little low (they would have waited days for a report);
    messages that never get one drop out after those days."""
    since = rollups.period_start(DAY, now)
    for _ in range(AWAITING_REPORT_DAYS - 1):
        since = rollups.period_start(DAY, since - 1)
    until = now + 1
    submitted = rollups.traffic(conn, period=DAY, since=since, until=until)[()].submitted
    reported = rollups.latency(conn, metric=REPORT, period=DAY, since=since, until=until)[()].count
    return max(0, submitted - reported)


@dataclass(frozen=True, slots=True)
class LinkStatus:
    name: str
    state: str  # bound, connecting, backoff, stopping, stopped, not running
    up: bool  # bound in every process that runs it
    since: int | None
    last_error: str
    last_error_at: int | None
    processes: int
    binds: int
    in_flight: int
    window: int
    submit_rate: float


def _links(conn: sa.Connection) -> list[LinkStatus]:
    found = []
    for name, health in sorted(links.connector_stats(conn).items()):
        state = str(health.get("state", ""))
        found.append(
            LinkStatus(
                name=name,
                state=state,
                up=state == links.BOUND,
                since=_int_or_none(health.get("since")),
                last_error=str(health.get("last_error") or ""),
                last_error_at=_int_or_none(health.get("last_error_at")),
                processes=_int(health.get("processes")),
                binds=_int(health.get("binds")),
                in_flight=_int(health.get("in_flight")),
                window=_int(health.get("window")),
                submit_rate=float(str(health.get("submit_rate") or 0)),
            )
        )
    return found


def _int(value: object) -> int:
    return int(str(value)) if value is not None else 0


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))


@dataclass(frozen=True, slots=True)
class CallbackBacklog:
    pending: int  # status reports and replies not yet delivered
    failing: int  # of which refused at least once
    failing_receivers: int


@dataclass(frozen=True, slots=True)
class Overview:
    at: int
    today: WindowFigures
    last_hour: WindowFigures
    queue: QueueDepth
    links_up: int
    links_down: int  # running and not bound (connecting, backoff, …) or not running
    links_stopped: int  # stopped by the operator
    links: list[LinkStatus]
    callbacks: CallbackBacklog


def overview(conn: sa.Connection, actor: Actor, *, now: int) -> Overview:
    actor.require(Permission.VIEW)
    day = rollups.period_start(DAY, now)
    minute = rollups.period_start(MINUTE, now)
    counts = in_flight.backlog(conn)
    pending = receivers.pending_by_receiver(conn)
    link_list = _links(conn)
    stopped = links.stopped_connectors(conn)
    return Overview(
        at=now,
        today=_window(conn, DAY, day, day + 1),
        last_hour=_window(conn, MINUTE, minute - 59 * MINUTE, minute + MINUTE),
        queue=QueueDepth(
            queued=counts.queued,
            submitting=counts.in_flight,
            awaiting_report=_awaiting_report(conn, now),
        ),
        links_up=sum(1 for link in link_list if link.up),
        links_down=sum(1 for link in link_list if not link.up and link.name not in stopped),
        links_stopped=sum(1 for link in link_list if link.name in stopped),
        links=link_list,
        callbacks=CallbackBacklog(
            pending=sum(g.pending for g in pending),
            failing=sum(g.failed for g in pending),
            failing_receivers=sum(1 for g in pending if g.failed),
        ),
    )


# --- charts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    start: int  # the period's first second
    accepted: int
    submitted: int
    delivered: int
    failed: int
    delivery_rate: float | None


@dataclass(frozen=True, slots=True)
class SeriesLine:
    name: str  # the carrier or connector ("" for none yet, as in Breakdown)
    points: list[Point]


@dataclass(frozen=True, slots=True)
class Series:
    window: str  # 1h, 24h, 30d
    period: int  # seconds per point: 60, 3600 or 86400
    by: str | None
    starts: list[int]  # every point's start, oldest first; every line has a point for each
    total: list[Point]
    lines: list[SeriesLine]  # one per carrier or connector with traffic in the window; none without `by`


def _starts(period: int, points: int, now: int) -> list[int]:
    """The starts of the last `points` periods up to the one holding `now`. Hours and days are
    stepped back through `period_start`, so a day across a clock change keeps its local midnight."""
    start = rollups.period_start(period, now)
    starts = [start]
    while len(starts) < points:
        start = rollups.period_start(period, start - 1)
        starts.append(start)
    return starts[::-1]


def _point(start: int, figures: Figures) -> Point:
    return Point(
        start, figures.accepted, figures.submitted, figures.delivered, figures.failed, _rate(figures)
    )


def series(conn: sa.Connection, actor: Actor, *, window: str, now: int, by: str | None = None) -> Series:
    actor.require(Permission.VIEW)
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}: one of {', '.join(WINDOWS)}")
    by = by or None
    if by is not None and by not in SERIES_BY:
        raise ValueError(f"a series is by {' or '.join(SERIES_BY)}, not {by!r}")
    period, points = WINDOWS[window]
    starts = _starts(period, points, now)
    since, until = starts[0], starts[-1] + 1
    keys = ("start",) if by is None else ("start", by)
    rows = rollups.traffic(conn, period=period, since=since, until=until, by=keys)
    totals: dict[int, Figures] = {}
    per_name: dict[str, dict[int, Figures]] = {}
    for key, figures in rows.items():
        start = int(key[0])
        totals[start] = totals.get(start, Figures()) + figures
        if by is not None:
            per_name.setdefault(str(key[1]), {})[start] = figures
    lines = [
        SeriesLine(name, [_point(s, by_start.get(s, Figures())) for s in starts])
        for name, by_start in per_name.items()
    ]
    lines.sort(key=lambda line: (-sum(p.accepted + p.submitted for p in line.points), line.name))
    return Series(
        window=window,
        period=period,
        by=by,
        starts=starts,
        total=[_point(s, totals.get(s, Figures())) for s in starts],
        lines=lines,
    )
