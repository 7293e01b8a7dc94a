"""This process's own figures for /metrics: what lives in memory rather than in the database.

A leaf (prometheus-client and the standard library only) that the composition root and the API feed,
the way every room feeds `logging`; the admin room's /metrics reads it beside the database's figures.

- API requests by endpoint and code: a plain dict the API increments on its hot path (a dict
  increment costs a fraction of a labelled counter's lookup and lock); turned into a counter when
  someone scrapes.
- Links: `export_links` copies the connector manager's stats into gauges and counters every few
  seconds, in whichever process runs the links.
- Callbacks: `export_callbacks` does the same for the callback worker's counters.

Dispatch workers are processes of their own. `serve` makes a fresh directory for them
(`WorkerMetrics`) and passes it in PROMETHEUS_MULTIPROC_DIR: prometheus-client then keeps a worker's
figures in memory-mapped files there, and `collect_local` merges them with MultiProcessCollector.
Counters of a worker that died stay in the sum; its gauges go with it (`WorkerMetrics.process_gone`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.samples import Sample

log = logging.getLogger(__name__)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
EXPORT_INTERVAL = 2.0  # seconds between two copies of a link's or the callback worker's figures

# A counter's `_created` sample would be one more series per label set, which Prometheus' text
# format shows as a gauge of its own; rate() needs none of it.
disable_created_metrics()  # type: ignore[no-untyped-call]

# --- API requests ---------------------------------------------------------------------------------

# (endpoint, code) → requests answered. The API's event loop is the only writer.
API_REQUESTS: defaultdict[tuple[str, int], int] = defaultdict(int)


def _api_requests() -> Metric:
    family = CounterMetricFamily(
        "smsplatform_api_requests",
        "Customer API requests answered, by endpoint and answer code (0: success).",
        labels=("endpoint", "code"),
    )
    for (endpoint, code), count in sorted(API_REQUESTS.copy().items()):
        family.add_metric((endpoint, str(code)), count)
    return family


# --- links ----------------------------------------------------------------------------------------

BOUND = "bound"
# What ConnectorStats.state takes: a link retrying alternates between connecting and backoff.
LINK_STATES = ("bound", "connecting", "backoff", "stopping", "stopped")

REGISTRY = CollectorRegistry(auto_describe=True)

# Gauges say how each process's link is now. Merged over processes: the live ones only (a dead
# worker's are dropped), summed, except `up` (bound everywhere) and the window size (per session).
_UP = Gauge(
    "smsplatform_connector_up",
    "1 when the connector's link is bound in every process that runs it, else 0.",
    ["connector"],
    multiprocess_mode="livemin",
    registry=REGISTRY,
)
_LINKS = Gauge(
    "smsplatform_connector_links",
    "Processes running a link to the connector, by the link's state.",
    ["connector", "state"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
_SESSIONS = Gauge(
    "smsplatform_connector_sessions",
    "Sessions bound to the connector now (those the SMSC opened to us included).",
    ["connector"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
_WINDOW = Gauge(
    "smsplatform_connector_window_size",
    "Unanswered submits one session may have.",
    ["connector"],
    multiprocess_mode="livemax",
    registry=REGISTRY,
)
_IN_USE = Gauge(
    "smsplatform_connector_window_in_use",
    "Submits sent to the connector and not answered yet.",
    ["connector"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
_RATE = Gauge(
    "smsplatform_connector_submits_per_second",
    "Submit segments the SMSC accepted per second, over the last few seconds.",
    ["connector"],
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
LINK_GAUGES = (
    "smsplatform_connector_up",
    "smsplatform_connector_links",
    "smsplatform_connector_sessions",
    "smsplatform_connector_window_size",
    "smsplatform_connector_window_in_use",
    "smsplatform_connector_submits_per_second",
)

# Counters count segments on the wire (what the carrier's window and rate see), over the processes'
# lifetimes.
_SUBMITS = Counter(
    "smsplatform_connector_submits",
    "Submit segments answered by the SMSC: accepted, or error (refused, timed out, lost with the link).",
    ["connector", "result"],
    registry=REGISTRY,
)
_REPORTS = Counter(
    "smsplatform_connector_reports", "Status reports received.", ["connector"], registry=REGISTRY
)
_REPLIES = Counter(
    "smsplatform_connector_replies", "Replies (MO) received.", ["connector"], registry=REGISTRY
)
_TIMEOUTS = Counter(
    "smsplatform_connector_timeouts",
    "Submits whose answer did not come in time.",
    ["connector"],
    registry=REGISTRY,
)
_RECONNECTS = Counter(
    "smsplatform_connector_reconnects",
    "Sessions bound after the first one (the link was lost and came back).",
    ["connector"],
    registry=REGISTRY,
)


class LinkFigures(Protocol):
    """What the connector manager's stats give of one link (connectors.model.ConnectorStats)."""

    @property
    def state(self) -> str: ...
    @property
    def in_flight(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def received_reports(self) -> int: ...
    @property
    def received_mo(self) -> int: ...
    @property
    def timeouts(self) -> int: ...
    @property
    def reconnects(self) -> int: ...
    @property
    def binds(self) -> int: ...
    @property
    def window(self) -> int: ...
    @property
    def submit_rate(self) -> float: ...


def _add(counter: Counter, labels: tuple[str, ...], now: int, before: int) -> None:
    # A link started afresh (removed and added again) counts from zero: all of it is new.
    delta = now - before if now >= before else now
    if delta:
        counter.labels(*labels).inc(delta)


class LinkExporter:
    """Copies a process's link stats into the gauges and adds what the counters grew by since the
    last copy."""

    def __init__(self) -> None:
        self._last: dict[str, LinkFigures] = {}

    def update(self, stats: Mapping[str, LinkFigures]) -> None:
        for name, link in stats.items():
            _UP.labels(name).set(1 if link.state == BOUND else 0)
            for state in LINK_STATES:
                _LINKS.labels(name, state).set(1 if link.state == state else 0)
            _SESSIONS.labels(name).set(link.binds)
            _WINDOW.labels(name).set(link.window)
            _IN_USE.labels(name).set(link.in_flight)
            _RATE.labels(name).set(link.submit_rate)
            last = self._last.get(name)
            _add(_SUBMITS, (name, "accepted"), link.sent, last.sent if last else 0)
            _add(_SUBMITS, (name, "error"), link.errors, last.errors if last else 0)
            _add(_REPORTS, (name,), link.received_reports, last.received_reports if last else 0)
            _add(_REPLIES, (name,), link.received_mo, last.received_mo if last else 0)
            _add(_TIMEOUTS, (name,), link.timeouts, last.timeouts if last else 0)
            _add(_RECONNECTS, (name,), link.reconnects, last.reconnects if last else 0)
        for name in self._last.keys() - stats.keys():
            # The connector was removed. Labels cannot be removed in multiprocess mode: a link that
            # no process runs (no `links` of any state) is left out when /metrics is collected.
            for state in LINK_STATES:
                _LINKS.labels(name, state).set(0)
            for gauge in (_UP, _SESSIONS, _WINDOW, _IN_USE, _RATE):
                gauge.labels(name).set(0)
        self._last = dict(stats)


# --- callbacks ------------------------------------------------------------------------------------

_CALLBACK_ATTEMPTS = Counter(
    "smsplatform_callback_attempts",
    "Status reports and replies posted to customers' URLs: delivered (acknowledged) or failed "
    "(retried later, or given up).",
    ["result"],
    registry=REGISTRY,
)
_CALLBACKS_GIVEN_UP = Counter(
    "smsplatform_callbacks_given_up",
    "Status reports and replies given up after the retry schedule.",
    registry=REGISTRY,
)


class CallbackFigures(Protocol):
    """What the callback worker's stats give (callbacks.worker.CallbackStats)."""

    @property
    def delivered(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def dead(self) -> int: ...


class CallbackExporter:
    def __init__(self) -> None:
        self._last: tuple[int, int, int] = (0, 0, 0)

    def update(self, stats: CallbackFigures) -> None:
        delivered, failed, dead = self._last
        _add(_CALLBACK_ATTEMPTS, ("delivered",), stats.delivered, delivered)
        _add(_CALLBACK_ATTEMPTS, ("failed",), stats.failed, failed)
        if stats.dead != dead:
            _CALLBACKS_GIVEN_UP.inc(stats.dead - dead if stats.dead >= dead else stats.dead)
        self._last = (stats.delivered, stats.failed, stats.dead)


# --- exporting --------------------------------------------------------------------------------------


async def export_every(update: Callable[[], None], interval: float = EXPORT_INTERVAL) -> None:
    """Calls `update` now and every `interval` seconds until cancelled, and once more then (the last
    figures of a process that stops)."""
    try:
        while True:
            try:
                update()
            except Exception:
                log.exception("could not export metrics")
            await asyncio.sleep(interval)
    finally:
        try:
            update()
        except Exception:
            log.exception("could not export metrics")


async def export_links(
    stats: Callable[[], Mapping[str, LinkFigures]], interval: float = EXPORT_INTERVAL
) -> None:
    """Keeps the link metrics of this process in step with `stats` (ConnectorManager.stats)."""
    exporter = LinkExporter()
    await export_every(lambda: exporter.update(stats()), interval)


async def export_callbacks(stats: Callable[[], CallbackFigures], interval: float = EXPORT_INTERVAL) -> None:
    """Keeps the callback counters of this process in step with `stats` (CallbackWorker.stats)."""
    exporter = CallbackExporter()
    await export_every(lambda: exporter.update(stats()), interval)


# --- dispatch workers ---------------------------------------------------------------------------------

_WORKER_DIRS: list[WorkerMetrics] = []


class WorkerMetrics:
    """`serve`'s side of its dispatch workers' figures: a fresh directory, given to each worker in
    PROMETHEUS_MULTIPROC_DIR (`environ`), read by this process's /metrics until `close`."""

    def __init__(self) -> None:
        # A directory of this process's own: several serve processes may share one data directory.
        self.path = tempfile.mkdtemp(prefix="smsplatform-metrics-")
        _WORKER_DIRS.append(self)

    def environ(self) -> dict[str, str]:
        return {MULTIPROC_VARIABLE: self.path}

    def process_gone(self, pid: int) -> None:
        """A worker exited: its gauges no longer count (its counters do)."""
        mark_process_dead(pid, self.path)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Metric]:
        families: Iterable[Metric] = MultiProcessCollector(None, self.path).collect()  # type: ignore[no-untyped-call]
        return families

    def close(self) -> None:
        if self in _WORKER_DIRS:
            _WORKER_DIRS.remove(self)
        shutil.rmtree(self.path, ignore_errors=True)


def collect_local() -> list[Metric]:
    """This process's figures and its dispatch workers', merged by name; links that no process runs
    any more left out."""
    sources: list[Iterable[Metric]] = [REGISTRY.collect(), [_api_requests()]]
    sources += [workers.collect() for workers in list(_WORKER_DIRS)]
    families: dict[str, Metric] = {}
    for source in sources:
        for family in source:
            merged = families.get(family.name)
            if merged is None:
                families[family.name] = family
            else:
                merged.samples = _merged(merged, family.samples)
    running = _running_links(families.get("smsplatform_connector_links"))
    for name in LINK_GAUGES:
        gauge = families.get(name)
        if gauge is not None:
            gauge.samples = [s for s in gauge.samples if s.labels.get("connector") in running]
    return list(families.values())


def _merged(family: Metric, more: Iterable[Sample]) -> list[Sample]:
    """`family`'s samples and `more`. A series both have (a counter every process creates, such as
    one without labels) is summed: each process counted its own. Gauges are each set by one process."""
    samples = {(s.name, tuple(sorted(s.labels.items()))): s for s in family.samples}
    for sample in more:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        known = samples.get(key)
        if known is None:
            samples[key] = sample
        elif family.type != "gauge":
            samples[key] = known._replace(value=known.value + sample.value)
    return list(samples.values())


def _running_links(family: Metric | None) -> set[str]:
    running: set[str] = set()
    for sample in family.samples if family is not None else ():
        if sample.value > 0:
            running.add(sample.labels["connector"])
    return running


def local_connectors(families: Iterable[Metric]) -> Iterator[tuple[str, int]]:
    """(connector, processes running it here) from `collect_local`'s families."""
    counts: dict[str, int] = defaultdict(int)
    for family in families:
        if family.name == "smsplatform_connector_links":
            for sample in family.samples:
                counts[sample.labels["connector"]] += int(sample.value)
    yield from counts.items()
