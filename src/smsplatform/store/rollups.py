"""Traffic figures and latency histograms per minute, hour and local day, kept as messages change state.

The dashboard and /metrics read these rows, never the message table: a figure over a day of ten
million messages is a sum over a few hundred rows. The outbox's units of work add what they changed
through a `Tally`, which sums a whole batch in Python and writes it with one upsert per table
(`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`), so a batch of thousands of messages costs a
handful of rows, in the same transaction as the change it counts.

What is counted, per (customer, carrier, connector, kind):

- `accepted` when a message is accepted (connector "": none is chosen yet);
- `submitted` when the SMSC acknowledged it, with the connector that took it;
- `delivered` or `failed` when it reaches a final state (failed: every final state but delivered),
  with the connector it was last tried on ("" if none).

Latencies, per (carrier, connector), in the buckets of `LATENCY_BOUNDS_MS`: "submit" from acceptance
to the SMSC's acknowledgement, "report" from there to the final status report.

Minutes start on the minute; hours and days at server-local midnight and every hour after it, so that
hours add up to days in every time zone.
"""

from __future__ import annotations

import bisect
import functools
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smsplatform.domain.message_states import DELIVERED
from smsplatform.store.schema import latency_stats, traffic_stats

MINUTE, HOUR, DAY = 60, 3600, 86400
PERIODS = (MINUTE, HOUR, DAY)

# How long the finer rows are kept: the dashboard's charts reach back 24 hours in minutes and 30 days
# in hours; days are kept for good (a few hundred rows a day).
KEEP_SECONDS = {MINUTE: 3 * DAY, HOUR: 90 * DAY}

SUBMIT = "submit"  # accepted → acknowledged by the SMSC
REPORT = "report"  # acknowledged → final status report
METRICS = (SUBMIT, REPORT)

# Upper bounds of the latency buckets, in milliseconds; one more bucket holds everything above.
LATENCY_BOUNDS_MS = (100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 1800000, 3600000)

TRAFFIC_KEYS = ("start", "customer_id", "carrier", "connector", "kind")
LATENCY_KEYS = ("start", "carrier", "connector")

# Positions in a traffic row's four figures.
_ACCEPTED, _SUBMITTED, _DELIVERED, _FAILED = range(4)
_FIGURES = ("accepted", "submitted", "delivered", "failed")


# --- periods ------------------------------------------------------------------------------------


def _local_midnight(ts: int) -> int:
    """The unix time of the local midnight that begins the day `ts` falls in."""
    t = time.localtime(ts)
    midnight = int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1)))
    # Where a clock change skips midnight, mktime may land after `ts`: the day then starts an hour early.
    return midnight if midnight <= ts else midnight - HOUR


def period_start(period: int, ts: int) -> int:
    """The start of the minute, hour or local day (`period` 60, 3600 or 86400) that `ts` falls in."""
    if period == MINUTE:
        return ts - ts % MINUTE
    day = _local_midnight(ts)
    if period == DAY:
        return day
    if period == HOUR:
        return day + (ts - day) // HOUR * HOUR
    raise ValueError(f"unknown period {period}: one of {PERIODS}")


def latency_bucket(ms: int) -> int:
    """The index of the bucket `ms` falls in (len(LATENCY_BOUNDS_MS) for above the last bound)."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, ms)


# --- writing --------------------------------------------------------------------------------------


def _upsert(table: sa.Table, insert: Any, sums: Sequence[str]) -> sa.Insert:
    statement = insert(table)
    keys = [column for column in table.primary_key.columns]
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=keys,
        set_={name: table.c[name] + getattr(statement.excluded, name) for name in sums},
    )


# This process's rollup rows on PostgreSQL (see `writer` in schema.py): random, so that processes on
# different machines do not share one either.
_POSTGRES_WRITER = 1 + secrets.randbelow(2**31 - 2)
_WRITER = {"sqlite": 0, "postgresql": _POSTGRES_WRITER}

# Built once per backend: building a statement costs more than running it on this path.
_UPSERT_TRAFFIC = {
    "sqlite": _upsert(traffic_stats, sqlite.insert, _FIGURES),
    "postgresql": _upsert(traffic_stats, postgresql.insert, _FIGURES),
}
_UPSERT_LATENCY = {
    "sqlite": _upsert(latency_stats, sqlite.insert, ("count", "total_ms")),
    "postgresql": _upsert(latency_stats, postgresql.insert, ("count", "total_ms")),
}


def _upsert_arrays(table: sa.Table, columns: Sequence[str], sums: Sequence[str]) -> str:
    """The PostgreSQL upsert of `table` taking its rows as one array per column (binary, `%b`): one
    statement, where an executemany is one per row on the server (a dozen for a batch of receipts)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = ", ".join(f"%b::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    keys = ", ".join(column.name for column in table.primary_key.columns)
    added = ", ".join(f"{name} = {table.name}.{name} + excluded.{name}" for name in sums)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
        f" ON CONFLICT ({keys}) DO UPDATE SET {added}"
    )


# (at, customer_id, carrier, connector, kind) → [accepted, submitted, delivered, failed]
_TrafficKey = tuple[int, int, str, str, str]
# (at, metric, carrier, connector, bucket) → [count, total_ms]
_LatencyKey = tuple[int, str, str, str, int]


class Tally:
    """What one unit of work changed, summed in Python and written with one statement per table.

    The outbox's functions feed it what their statements returned and call `write` once at the end,
    so the rollup rows are touched once per unit of work, in one order (PostgreSQL writers that lock
    them in one order; on PostgreSQL each process writes rows of its own besides).
    """

    __slots__ = ("_latency", "_traffic")

    def __init__(self) -> None:
        self._traffic: dict[_TrafficKey, list[int]] = {}
        self._latency: dict[_LatencyKey, list[int]] = {}

    def __bool__(self) -> bool:
        return bool(self._traffic or self._latency)

    def _add(self, key: _TrafficKey, figure: int, n: int) -> None:
        figures = self._traffic.get(key)
        if figures is None:
            figures = self._traffic[key] = [0, 0, 0, 0]
        figures[figure] += n

    def _time(self, at: int, metric: str, carrier: str, connector: str, seconds: int, n: int) -> None:
        ms = max(0, seconds) * 1000
        key = (at, metric, carrier, connector, latency_bucket(ms))
        bucket = self._latency.get(key)
        if bucket is None:
            bucket = self._latency[key] = [0, 0]
        bucket[0] += n
        bucket[1] += n * ms

    def accepted(self, at: int, counts: Mapping[tuple[int, str, str], int]) -> None:
        """`counts` of messages accepted at `at`, by (customer_id, carrier, kind)."""
        for (customer_id, carrier, kind), n in counts.items():
            self._add((at, customer_id, carrier, "", kind), _ACCEPTED, n)

    def submitted(self, at: int, connector: str, rows: Iterable[Sequence[Any]]) -> None:
        """Messages `connector` took at `at`: rows of (customer_id, carrier, kind, created_at)."""
        for (customer_id, carrier, kind, created_at), n in Counter(rows).items():
            self._add((at, customer_id, carrier, connector, kind), _SUBMITTED, n)
            self._time(at, SUBMIT, carrier, connector, at - created_at, n)

    def finished(self, at: int, rows: Iterable[Sequence[Any]]) -> None:
        """Messages made final at `at`: rows of (customer_id, carrier, kind, connector, state,
        submitted_at); the connector and submitted_at may be None (never submitted)."""
        for (customer_id, carrier, kind, connector, state, submitted_at), n in Counter(rows).items():
            link = connector or ""
            figure = _DELIVERED if state == DELIVERED else _FAILED
            self._add((at, customer_id, carrier, link, kind), figure, n)
            if submitted_at is not None:
                self._time(at, REPORT, carrier, link, at - submitted_at, n)

    def write(self, conn: sa.Connection) -> None:
        """Add everything tallied to the minute, hour and day rows it falls in; then start afresh."""
        if self._traffic:
            _add_up(conn, _UPSERT_TRAFFIC, _TRAFFIC_COLUMNS, self._traffic)
            self._traffic = {}
        if self._latency:
            _add_up(conn, _UPSERT_LATENCY, _LATENCY_COLUMNS, self._latency)
            self._latency = {}


def _add_up(
    conn: sa.Connection,
    upserts: Mapping[str, sa.Executable],
    columns: Sequence[str],
    tallies: Mapping[tuple[Any, ...], Sequence[int]],
) -> None:
    """Tallies by (second, *key) added to the minute, hour and day rows of `columns` they fall in."""
    rows: dict[tuple[Any, ...], list[int]] = {}
    for (at, *key), figures in tallies.items():
        for period, start in _starts(at):
            row = rows.get((period, start, *key))
            if row is None:
                rows[(period, start, *key)] = list(figures)
            else:
                for index, n in enumerate(figures):
                    row[index] += n
    dialect = conn.dialect.name
    writer = _WRITER[dialect]
    ordered = sorted(rows.items())
    if dialect == "postgresql":
        values = [(*key, writer, *figures) for key, figures in ordered]
        conn.exec_driver_sql(
            _ARRAY_UPSERTS[tuple(columns)], tuple(list(column) for column in zip(*values, strict=True))
        )
        return
    conn.execute(
        upserts[dialect],
        [dict(zip(columns, (*key, writer, *figures), strict=True)) for key, figures in ordered],
    )


_TRAFFIC_COLUMNS = ("period", "start", "customer_id", "carrier", "connector", "kind", "writer", *_FIGURES)
_LATENCY_COLUMNS = (
    "period",
    "start",
    "metric",
    "carrier",
    "connector",
    "bucket",
    "writer",
    "count",
    "total_ms",
)


_ARRAY_UPSERTS = {
    _TRAFFIC_COLUMNS: _upsert_arrays(traffic_stats, _TRAFFIC_COLUMNS, _FIGURES),
    _LATENCY_COLUMNS: _upsert_arrays(latency_stats, _LATENCY_COLUMNS, ("count", "total_ms")),
}


@functools.lru_cache(maxsize=1024)  # a batch's changes share a few distinct seconds
def _starts(at: int) -> tuple[tuple[int, int], ...]:
    return tuple((period, period_start(period, at)) for period in PERIODS)


def prune(conn: sa.Connection, now: int) -> int:
    """Delete minute rows older than 3 days and hour rows older than 90 days; returns rows removed."""
    removed = 0
    for table in (traffic_stats, latency_stats):
        for period, keep in KEEP_SECONDS.items():
            result = conn.execute(
                sa.delete(table).where(table.c.period == period, table.c.start < now - keep)
            )
            removed += int(result.rowcount)
    return removed


# --- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    accepted: int = 0
    submitted: int = 0
    delivered: int = 0
    failed: int = 0

    @property
    def pending(self) -> int:
        """Accepted and not final yet (as far as these rows tell: one period's finals may be of
        messages accepted in an earlier one)."""
        return max(0, self.accepted - self.delivered - self.failed)

    @property
    def delivery_rate(self) -> float | None:
        """Delivered out of final, or None when none is final."""
        final = self.delivered + self.failed
        return self.delivered / final if final else None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.accepted + other.accepted,
            self.submitted + other.submitted,
            self.delivered + other.delivered,
            self.failed + other.failed,
        )


def _key_columns(table: sa.Table, by: Sequence[str], allowed: Sequence[str]) -> list[sa.Column[Any]]:
    unknown = [name for name in by if name not in allowed]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}: only by {', '.join(allowed)}")
    return [table.c[name] for name in by]


def traffic(
    conn: sa.Connection, *, period: int, since: int, until: int, by: Sequence[str] = ()
) -> dict[tuple[Any, ...], Figures]:
    """The figures of the `period` rows that start in [since, until), summed by the `by` columns
    (any of "start", "customer_id", "carrier", "connector", "kind"), keyed by their values in that
    order; with no `by`, one total under the key ()."""
    keys = _key_columns(traffic_stats, by, TRAFFIC_KEYS)
    query = (
        sa.select(*keys, *(sa.func.coalesce(sa.func.sum(traffic_stats.c[name]), 0) for name in _FIGURES))
        .where(
            traffic_stats.c.period == period,
            traffic_stats.c.start >= since,
            traffic_stats.c.start < until,
        )
        .group_by(*keys)
    )
    width = len(keys)
    found = {tuple(row[:width]): Figures(*(int(n) for n in row[width:])) for row in conn.execute(query)}
    if not by and not found:
        found[()] = Figures()
    return found


@dataclass(frozen=True, slots=True)
class Histogram:
    bounds_ms: tuple[int, ...]
    counts: tuple[int, ...]  # one per bound, then one for everything above the last
    total_ms: int

    @property
    def count(self) -> int:
        return sum(self.counts)

    @property
    def mean_ms(self) -> float | None:
        count = self.count
        return self.total_ms / count if count else None

    def quantile(self, q: float) -> float | None:
        """The `q` quantile (0 ≤ q ≤ 1), interpolated within its bucket as Prometheus does; above the
        last bound, the last bound. None when the histogram is empty."""
        if not 0 <= q <= 1:
            raise ValueError("a quantile is between 0 and 1")
        count = self.count
        if not count:
            return None
        rank = q * count
        seen = 0
        for index, n in enumerate(self.counts):
            if n and seen + n >= rank:
                if index == len(self.bounds_ms):
                    return float(self.bounds_ms[-1])
                lower = self.bounds_ms[index - 1] if index else 0
                upper = self.bounds_ms[index]
                return lower + (upper - lower) * max(0.0, rank - seen) / n
            seen += n
        return float(self.bounds_ms[-1])  # not reached: the counts add up to `count`

    def __add__(self, other: Histogram) -> Histogram:
        if other.bounds_ms != self.bounds_ms:
            raise ValueError("histograms of different buckets")
        counts = tuple(a + b for a, b in zip(self.counts, other.counts, strict=True))
        return Histogram(self.bounds_ms, counts, self.total_ms + other.total_ms)


EMPTY_HISTOGRAM = Histogram(LATENCY_BOUNDS_MS, (0,) * (len(LATENCY_BOUNDS_MS) + 1), 0)


def latency(
    conn: sa.Connection, *, metric: str, period: int, since: int, until: int, by: Sequence[str] = ()
) -> dict[tuple[Any, ...], Histogram]:
    """The `metric` ("submit" or "report") histograms of the `period` rows that start in
    [since, until), summed by the `by` columns (any of "start", "carrier", "connector"); with no `by`,
    one under the key ()."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: one of {', '.join(METRICS)}")
    keys = _key_columns(latency_stats, by, LATENCY_KEYS)
    query = (
        sa.select(
            *keys,
            latency_stats.c.bucket,
            sa.func.sum(latency_stats.c.count),
            sa.func.sum(latency_stats.c.total_ms),
        )
        .where(
            latency_stats.c.period == period,
            latency_stats.c.metric == metric,
            latency_stats.c.start >= since,
            latency_stats.c.start < until,
        )
        .group_by(*keys, latency_stats.c.bucket)
    )
    width = len(keys)
    buckets = len(LATENCY_BOUNDS_MS) + 1
    counts: dict[tuple[Any, ...], list[int]] = {}
    totals: Counter[tuple[Any, ...]] = Counter()
    for row in conn.execute(query):
        key = tuple(row[:width])
        bucket, count, total_ms = row[width:]
        counts.setdefault(key, [0] * buckets)[min(int(bucket), buckets - 1)] += int(count)
        totals[key] += int(total_ms)
    found = {key: Histogram(LATENCY_BOUNDS_MS, tuple(c), totals[key]) for key, c in counts.items()}
    if not by and not found:
        found[()] = EMPTY_HISTOGRAM
    return found
