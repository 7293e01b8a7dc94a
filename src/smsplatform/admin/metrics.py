"""/metrics in Prometheus' text format: the database's figures and this process's own.

From the database, read when Prometheus scrapes, with cheap queries only (never a pass over the
message table):

- messages by state, carrier, connector and kind, and the submit and report latency histograms: the
  day rows of the traffic and latency rollups (store/rollups.py), summed since the first day, so they
  are counters that hold across restarts and cover every process of the platform. The days before
  yesterday no longer change: their sums are read once a day and kept.
- queue depth, messages in flight and the callback backlog: counts over partial indexes
  (store/backlog.py).
- link gauges as the processes running the links last reported them (store/connectors.py), for
  links that run in processes this one does not see (another machine, a separate dispatch role).

From this process and its dispatch workers (telemetry.py): link gauges and counters, callback
attempts, API requests by endpoint and code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from smsplatform import telemetry
from smsplatform.admin.context import AdminContext
from smsplatform.store import rollups
from smsplatform.store.backlog import Backlog, backlog
from smsplatform.store.clock import now
from smsplatform.store.connectors import NOT_RUNNING, connector_stats_by_process
from smsplatform.store.rollups import DAY, Figures, Histogram

TRAFFIC_BY = ("carrier", "connector", "kind")
LATENCY_BY = ("carrier", "connector")
# Prometheus' name and help for each of the rollups' latency metrics.
LATENCY_FAMILIES = {
    rollups.SUBMIT: (
        "smsplatform_submit_latency_seconds",
        "Time from a message's acceptance to the SMSC's acknowledgement of its submit.",
    ),
    rollups.REPORT: (
        "smsplatform_report_latency_seconds",
        "Time from the SMSC's acknowledgement of a submit to the message's final status report.",
    ),
}
STATES = ("accepted", "submitted", "delivered", "failed")


@dataclass(frozen=True)
class _Sums:
    traffic: Mapping[tuple[Any, ...], Figures]
    latency: Mapping[str, Mapping[tuple[Any, ...], Histogram]]


def _sums(conn: sa.Connection, since: int, until: int) -> _Sums:
    return _Sums(
        traffic=rollups.traffic(conn, period=DAY, since=since, until=until, by=TRAFFIC_BY),
        latency={
            metric: rollups.latency(conn, metric=metric, period=DAY, since=since, until=until, by=LATENCY_BY)
            for metric in LATENCY_FAMILIES
        },
    )


def _add(a: Mapping[tuple[Any, ...], Any], b: Mapping[tuple[Any, ...], Any]) -> dict[tuple[Any, ...], Any]:
    total = dict(a)
    for key, value in b.items():
        total[key] = total[key] + value if key in total else value
    return total


@dataclass
class History:
    """The sums of the day rows that start before `cutoff` (yesterday). A message's change is counted
    in the day it happens, so those rows are final; they are read again only when the day turns.
    One tuple, replaced whole: two scrapes may run at once."""

    kept: tuple[int, _Sums] = (-1, _Sums({}, {}))


@dataclass(frozen=True)
class DatabaseFigures:
    traffic: Mapping[tuple[Any, ...], Figures]  # by TRAFFIC_BY, since the first day
    latency: Mapping[str, Mapping[tuple[Any, ...], Histogram]]  # by metric, then by LATENCY_BY
    backlog: Backlog
    links: Mapping[str, list[dict[str, object]]]  # connector_stats_by_process


def read_figures(conn: sa.Connection, history: History, at: int) -> DatabaseFigures:
    cutoff = rollups.period_start(DAY, rollups.period_start(DAY, at) - 1)  # yesterday's start
    kept_cutoff, old = history.kept
    if kept_cutoff != cutoff:
        old = _sums(conn, 0, cutoff)
        history.kept = (cutoff, old)
    recent = _sums(conn, cutoff, at + 2 * DAY)
    return DatabaseFigures(
        traffic=_add(old.traffic, recent.traffic),
        latency={m: _add(old.latency.get(m, {}), recent.latency[m]) for m in LATENCY_FAMILIES},
        backlog=backlog(conn),
        links=connector_stats_by_process(conn),
    )


# --- families -----------------------------------------------------------------------------------------


def _labels(key: Sequence[Any]) -> list[str]:
    return ["" if value is None else str(value) for value in key]


def _messages(traffic: Mapping[tuple[Any, ...], Figures]) -> Metric:
    family = CounterMetricFamily(
        "smsplatform_messages",
        "Messages that reached a state: accepted, submitted (acknowledged by the SMSC), delivered, "
        "failed (every final state but delivered). connector is empty until a message is submitted.",
        labels=("state", *TRAFFIC_BY),
    )
    for key, figures in sorted(traffic.items()):
        for state in STATES:
            count = getattr(figures, state)
            if count:
                family.add_metric([state, *_labels(key)], count)
    return family


def _latency(name: str, documentation: str, histograms: Mapping[tuple[Any, ...], Histogram]) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=LATENCY_BY)
    for key, histogram in sorted(histograms.items()):
        buckets: list[tuple[str, float]] = []
        seen = 0
        for bound, count in zip((*histogram.bounds_ms, None), histogram.counts, strict=True):
            seen += count
            buckets.append(("+Inf" if bound is None else _le(bound), seen))
        family.add_metric(_labels(key), buckets, sum_value=histogram.total_ms / 1000)
    return family


def _le(bound_ms: int) -> str:
    le: str = floatToGoString(bound_ms / 1000)  # type: ignore[no-untyped-call]
    return le


def _backlog(figures: Backlog) -> list[Metric]:
    return [
        GaugeMetricFamily(
            "smsplatform_messages_queued",
            "Messages waiting for a dispatcher (the queue depth; retries not due yet included).",
            value=figures.queued,
        ),
        GaugeMetricFamily(
            "smsplatform_messages_in_flight",
            "Messages a dispatcher claimed and the SMSC has not acknowledged yet.",
            value=figures.in_flight,
        ),
        GaugeMetricFamily(
            "smsplatform_callback_backlog",
            "Status reports and replies not delivered to customers yet (retries included).",
            value=figures.callbacks,
        ),
    ]


def _reported_links(
    families: dict[str, Metric], links: Mapping[str, list[dict[str, object]]], local: Mapping[str, int]
) -> None:
    """Puts the link gauges as the database has them in place of this process's, for each link that
    more processes reported running than this process and its workers run (the others are
    elsewhere)."""
    elsewhere: dict[str, list[dict[str, object]]] = {}
    for name, rows in links.items():
        live = [row for row in rows if row["state"] != NOT_RUNNING]
        if len(live) > local.get(name, 0):
            elsewhere[name] = live
    if not elsewhere:
        return
    samples: dict[str, list[Sample]] = {name: [] for name in telemetry.LINK_GAUGES}

    def add(family: str, value: float, **labels: str) -> None:
        samples[family].append(Sample(family, labels, float(value)))

    for name, live in sorted(elsewhere.items()):
        states = [str(row["state"]) for row in live]
        add("smsplatform_connector_up", all(s == telemetry.BOUND for s in states), connector=name)
        for state in sorted({*telemetry.LINK_STATES, *states}):
            add("smsplatform_connector_links", states.count(state), connector=name, state=state)
        add("smsplatform_connector_sessions", sum(_number(r["binds"]) for r in live), connector=name)
        add("smsplatform_connector_window_size", max(_number(r["window"]) for r in live), connector=name)
        add("smsplatform_connector_window_in_use", sum(_number(r["in_flight"]) for r in live), connector=name)
        add(
            "smsplatform_connector_submits_per_second",
            sum(_number(r["submit_rate"]) for r in live),
            connector=name,
        )
    for family_name, found in samples.items():
        family = families.get(family_name)
        if family is None:
            family = families[family_name] = GaugeMetricFamily(family_name, _LINK_HELP[family_name])
        family.samples = [s for s in family.samples if s.labels.get("connector") not in elsewhere]
        family.samples.extend(found)


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


_LINK_HELP = {
    family.name: family.documentation
    for family in telemetry.REGISTRY.collect()
    if family.name in telemetry.LINK_GAUGES
}


class _Exposition(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def exposition(figures: DatabaseFigures) -> bytes:
    """The text exposition of `figures` and of this process's and its workers' own."""
    families = {family.name: family for family in telemetry.collect_local()}
    _reported_links(families, figures.links, dict(telemetry.local_connectors(families.values())))
    ordered = [
        _messages(figures.traffic),
        *(_latency(*LATENCY_FAMILIES[m], figures.latency.get(m, {})) for m in LATENCY_FAMILIES),
        *_backlog(figures.backlog),
        *(families[name] for name in sorted(families)),
    ]
    return generate_latest(_Exposition(ordered))


def metrics_endpoint(ctx: AdminContext) -> Callable[[Request], Awaitable[Response]]:
    history = History()

    async def metrics(_: Request) -> Response:
        figures = await ctx.db.read(read_figures, history, now())
        body = await run_in_threadpool(exposition, figures)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return metrics
