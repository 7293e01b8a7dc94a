"""Traffic rollups: the figures equal what the message table says, kept by the outbox's own units of work.

Messages go through the real store functions (acceptance, claims, submit results, receipts, requeues);
the figures and latencies read back must equal a GROUP BY over `messages`, in every period.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.domain.message_states import REJECTED
from smsplatform.domain.segments import count_segments
from smsplatform.domain.submit_outcomes import Failed, Retry, SubmitOutcome, Submitted
from smsplatform.store import rollups
from smsplatform.store.accounts import Account
from smsplatform.store.claims import claim, requeue_expired
from smsplatform.store.database import Database
from smsplatform.store.outbox import Accepted, NewMessage, SendRequest, accept_send
from smsplatform.store.receipts import ReceiptIn, apply_receipts
from smsplatform.store.results import record_results
from smsplatform.store.rollups import (
    DAY,
    HOUR,
    LATENCY_BOUNDS_MS,
    MINUTE,
    PERIODS,
    Figures,
    Histogram,
    Tally,
    latency,
    period_start,
    prune,
    traffic,
)
from smsplatform.store.schema import latency_stats, messages, traffic_stats
from tests.dispatch.support import make_account, run

ME = "dispatcher-a"
FAILED_STATES = ("undelivered", "expired", "rejected", "failed")
# 90 seconds before a local midnight: the story below crosses a minute, an hour and a day.
T0 = period_start(DAY, 1_700_000_000) + DAY - 90


def send(
    db: Database,
    account: Account,
    mobiles: Sequence[str],
    *,
    kind: str,
    carrier: str,
    now: int,
    text: str = "验证码1234",
) -> list[int]:
    content = account.signature + text
    new = [NewMessage(m, content, count_segments(content), kind, carrier) for m in mobiles]

    def accept(conn: sa.Connection) -> list[int]:
        outcome = accept_send(conn, SendRequest(account.customer_id, account.id, new, now))
        assert isinstance(outcome, Accepted)
        query = sa.select(messages.c.id).where(messages.c.send_id == int(outcome.result["msgid"]))
        return list(conn.execute(query.order_by(messages.c.id)).scalars())

    return run(db, accept)


def receipt(remote_id: str, stat: str = "DELIVRD", connector: str = "smsc-1") -> ReceiptIn:
    return ReceiptIn(connector, remote_id, stat, "000")


def results(db: Database, outcomes: Sequence[SubmitOutcome], now: int) -> None:
    run(db, record_results, ME, outcomes, now)


# --- what the message table says ------------------------------------------------------------------


def grouped(db: Database, *columns: Any, where: Any = None) -> list[sa.Row[Any]]:
    """`columns` and count(*) of the messages matching `where`, grouped by `columns`."""
    with db.read_engine.connect() as conn:
        query = sa.select(*columns, sa.func.count()).group_by(*columns)
        if where is not None:
            query = query.where(where)
        return list(conn.execute(query))


def figures_from_messages(db: Database, period: int) -> dict[tuple[Any, ...], Figures]:
    m = messages.c
    connector = sa.func.coalesce(m.connector, "")
    counts: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    sources = [
        (0, grouped(db, m.created_at, m.customer_id, m.carrier, sa.literal(""), m.kind)),
        (
            1,
            grouped(
                db,
                m.submitted_at,
                m.customer_id,
                m.carrier,
                connector,
                m.kind,
                where=m.submitted_at.is_not(None),
            ),
        ),
        (
            2,
            grouped(db, m.done_at, m.customer_id, m.carrier, connector, m.kind, where=m.state == "delivered"),
        ),
        (
            3,
            grouped(
                db, m.done_at, m.customer_id, m.carrier, connector, m.kind, where=m.state.in_(FAILED_STATES)
            ),
        ),
    ]
    for figure, rows in sources:
        for at, *key, n in rows:
            counts[(period_start(period, at), *key)][figure] += n
    return {key: Figures(*values) for key, values in counts.items()}


def histograms_from_messages(db: Database, metric: str, period: int) -> dict[tuple[Any, ...], Histogram]:
    m = messages.c
    if metric == "submit":
        begin, end, where = m.created_at, m.submitted_at, m.submitted_at.is_not(None)
    else:
        begin, end, where = (
            m.submitted_at,
            m.done_at,
            sa.and_(m.submitted_at.is_not(None), m.done_at.is_not(None)),
        )
    counts: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * (len(LATENCY_BOUNDS_MS) + 1))
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    for at, seconds, carrier, connector, n in grouped(
        db, end, end - begin, m.carrier, m.connector, where=where
    ):
        key = (period_start(period, at), carrier, connector)
        counts[key][bisect.bisect_left(LATENCY_BOUNDS_MS, seconds * 1000)] += n
        totals[key] += n * seconds * 1000
    return {key: Histogram(LATENCY_BOUNDS_MS, tuple(c), totals[key]) for key, c in counts.items()}


def assert_rollups_match_messages(db: Database) -> None:
    with db.read_engine.connect() as conn:
        for period in PERIODS:
            found = traffic(conn, period=period, since=0, until=T0 + 10 * DAY, by=rollups.TRAFFIC_KEYS)
            assert found == figures_from_messages(db, period), period
            for metric in rollups.METRICS:
                histograms = latency(
                    conn, metric=metric, period=period, since=0, until=T0 + 10 * DAY, by=rollups.LATENCY_KEYS
                )
                assert histograms == histograms_from_messages(db, metric, period), (metric, period)


def test_figures_equal_the_message_table_through_a_mixed_story(db: Database) -> None:
    a = make_account(db, signature="【甲方】")
    b = make_account(db, signature="【乙方】")
    notices = send(db, a, [f"1380000000{i}" for i in range(6)], kind="notification", carrier="mobile", now=T0)
    offers = send(
        db, a, ["13100000000", "13100000001", "13100000002"], kind="marketing", carrier="unicom", now=T0 + 20
    )
    longs = send(
        db,
        b,
        [f"1890000000{i}" for i in range(4)],
        kind="verification",
        carrier="telecom",
        now=T0 + 45,
        text="长" * 150,
    )
    late = send(db, b, ["13800000010", "13800000011"], kind="notification", carrier="mobile", now=T0 + 61)
    assert_rollups_match_messages(db)  # accepted only

    assert len(run(db, claim, ME, T0 + 62, 100, 30)) == 15
    run(db, apply_receipts, [receipt("t0-1", connector="smsc-3")], T0 + 65)  # overtakes its submit result
    results(
        db,
        [
            *(Submitted(m, "smsc-1", (f"n{m}",)) for m in notices[:4]),
            Retry(notices[4], T0 + 80, "0x00000058", "smsc-1"),
            Failed(notices[5], "0x0000000B", REJECTED, "REJECTD", "smsc-2"),
            Submitted(offers[0], "smsc-2", ("o0",)),
            Submitted(offers[1], "smsc-2", ("o1",)),
            Failed(offers[2], "no route"),  # never reached a connector
            Submitted(longs[0], "smsc-3", ("t0-1", "t0-2", "t0-3")),
            Submitted(longs[1], "smsc-3", ("t1-1", "t1-2", "t1-3")),
            Submitted(longs[2], "smsc-3", ("t2-1", "t2-2", "t2-3")),
            Failed(longs[3], "gave up", connector="smsc-3", maybe_sent=True),
        ],
        T0 + 70,
    )
    assert_rollups_match_messages(db)

    run(db, claim, ME, T0 + 80, 100, 30)  # the retry
    results(db, [Submitted(notices[4], "smsc-1", (f"n{notices[4]}",))], T0 + 85)
    assert run(db, requeue_expired, T0 + 95) == 2  # `late` was claimed and never answered
    run(db, claim, ME, T0 + 95, 100, 30)
    results(db, [Submitted(m, "smsc-2", (f"l{m}",)) for m in late], T0 + 96)
    assert_rollups_match_messages(db)

    batch = [
        receipt(f"n{notices[0]}"),
        receipt(f"n{notices[1]}", "UNDELIV"),
        receipt(f"n{notices[2]}", "EXPIRED"),
        receipt("o0", "DELIVRD", "smsc-2"),
        receipt("o1", "REJECTD", "smsc-2"),
        *(receipt(f"t0-{p}", connector="smsc-3") for p in (2, 3)),
        *(receipt(f"t1-{p}", "UNDELIV" if p == 2 else "DELIVRD", "smsc-3") for p in (1, 2, 3)),
        receipt("t2-1", connector="smsc-3"),  # t2 stays open: two parts have no report
        receipt(f"l{late[0]}", "ENROUTE", "smsc-2"),  # not final
    ]
    run(db, apply_receipts, batch, T0 + 100)  # after midnight
    run(db, apply_receipts, batch, T0 + 101)  # redelivered: nothing changes
    run(
        db,
        apply_receipts,
        [receipt(f"n{notices[4]}"), receipt(f"l{late[1]}", "UNDELIV", "smsc-2")],
        T0 + 3_700,
    )
    assert_rollups_match_messages(db)

    with db.read_engine.connect() as conn:
        [total] = traffic(conn, period=DAY, since=0, until=T0 + DAY).values()  # both days
    assert total == Figures(accepted=15, submitted=12, delivered=4, failed=8)
    assert total.pending == 3 and total.delivery_rate == pytest.approx(4 / 12)


def statements_on(db: Database, table: str) -> list[str]:
    """Start recording the statements run on `table` (each executemany counts once)."""
    seen: list[str] = []

    @sa.event.listens_for(db.engine, "before_cursor_execute")
    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if f"INTO {table}" in statement:
            seen.append(statement)

    return seen


def test_a_big_batch_writes_a_handful_of_rows_with_one_statement_per_table(db: Database) -> None:
    account = make_account(db)
    traffic_writes = statements_on(db, "traffic_stats")
    latency_writes = statements_on(db, "latency_stats")
    mobiles = [f"138{i:08d}" for i in range(3_000)]
    ids = send(db, account, mobiles, kind="notification", carrier="mobile", now=T0)
    assert len(traffic_writes) == 1
    run(db, claim, ME, T0 + 1, 5_000, 30)
    results(db, [Submitted(m, "smsc-1" if m % 2 else "smsc-2", (f"r{m}",)) for m in ids], T0 + 2)
    assert (len(traffic_writes), len(latency_writes)) == (2, 1)
    run(
        db, apply_receipts, [receipt(f"r{m}", connector="smsc-1" if m % 2 else "smsc-2") for m in ids], T0 + 3
    )
    assert (len(traffic_writes), len(latency_writes)) == (3, 2)
    with db.read_engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(traffic_stats)).scalar_one()
        # One key before submission, one per connector after: three periods each.
        assert rows == 3 * 3
        figures = traffic(conn, period=MINUTE, since=T0 - 60, until=T0 + 60, by=("connector",))
    assert figures == {
        ("",): Figures(accepted=3_000),
        ("smsc-1",): Figures(submitted=1_500, delivered=1_500),
        ("smsc-2",): Figures(submitted=1_500, delivered=1_500),
    }


# --- reading ---------------------------------------------------------------------------------------


def test_reads_sum_over_the_asked_range_and_keys(db: Database) -> None:
    tally = Tally()
    tally.accepted(T0, {(1, "mobile", "marketing"): 3, (2, "unicom", "notification"): 4})
    tally.accepted(T0 + 60, {(1, "mobile", "marketing"): 5})
    tally.submitted(T0 + 61, "smsc-1", [(1, "mobile", "marketing", T0)] * 2)
    tally.finished(T0 + 62, [(1, "mobile", "marketing", "smsc-1", "delivered", T0 + 61)])
    tally.finished(T0 + 62, [(2, "unicom", "notification", None, "failed", None)])
    run(db, tally.write)
    assert not tally  # written, and empty again
    minute = period_start(MINUTE, T0)
    with db.read_engine.connect() as conn:
        assert traffic(conn, period=MINUTE, since=minute, until=minute + 60) == {(): Figures(7, 0, 0, 0)}
        assert traffic(conn, period=MINUTE, since=minute, until=minute + 120, by=("customer_id", "kind")) == {
            (1, "marketing"): Figures(8, 2, 1, 0),
            (2, "notification"): Figures(4, 0, 0, 1),
        }
        by_start = traffic(conn, period=MINUTE, since=0, until=T0 + DAY, by=("start",))
        assert sorted(by_start) == [(minute,), (minute + 60,)]
        assert traffic(conn, period=HOUR, since=T0 + DAY, until=T0 + 2 * DAY) == {(): Figures()}
        with pytest.raises(ValueError, match="mobile"):
            traffic(conn, period=MINUTE, since=0, until=1, by=("mobile",))
        [submit] = latency(conn, metric="submit", period=DAY, since=0, until=T0 + DAY).values()
        assert (submit.count, submit.total_ms, submit.mean_ms) == (2, 2 * 61_000, 61_000)
        one_second = tuple(int(bound == 1000) for bound in (*LATENCY_BOUNDS_MS, 0))
        assert latency(conn, metric="report", period=DAY, since=0, until=T0 + DAY, by=("connector",)) == {
            ("smsc-1",): Histogram(LATENCY_BOUNDS_MS, one_second, 1_000)
        }
        assert latency(conn, metric="report", period=DAY, since=0, until=1) == {(): rollups.EMPTY_HISTOGRAM}
        with pytest.raises(ValueError, match="kind"):
            latency(conn, metric="report", period=DAY, since=0, until=1, by=("kind",))


def test_figures_derived_values() -> None:
    assert Figures(10, 8, 6, 2).pending == 2
    assert Figures(10, 8, 6, 2).delivery_rate == 0.75
    assert Figures(1, 0, 3, 0).pending == 0  # finals of an earlier period's messages
    assert Figures(5).delivery_rate is None
    assert Figures(1, 2, 3, 4) + Figures(1, 1, 1, 1) == Figures(2, 3, 4, 5)


def test_histogram_quantiles_interpolate_within_the_bucket() -> None:
    bounds = (100, 1000, 10000)
    histogram = Histogram(bounds, (0, 4, 4, 2), 50_000)
    assert histogram.count == 10 and histogram.mean_ms == 5_000
    assert histogram.quantile(0) == 100  # the lower edge of the first bucket with anything in it
    assert histogram.quantile(0.2) == pytest.approx(100 + 900 * 2 / 4)
    assert histogram.quantile(0.4) == 1000
    assert histogram.quantile(0.6) == pytest.approx(1000 + 9000 * 2 / 4)
    assert histogram.quantile(0.95) == 10000  # above the last bound: the last bound
    assert Histogram(bounds, (2, 0, 0, 0), 0).quantile(0.5) == 50
    assert Histogram(bounds, (0, 0, 0, 0), 0).quantile(0.5) is None
    assert Histogram(bounds, (0, 0, 0, 0), 0).mean_ms is None
    with pytest.raises(ValueError):
        histogram.quantile(1.5)


def test_latencies_fall_in_the_bucket_of_their_upper_bound() -> None:
    assert rollups.latency_bucket(0) == 0
    assert rollups.latency_bucket(100) == 0
    assert rollups.latency_bucket(101) == 1
    assert rollups.latency_bucket(1000) == LATENCY_BOUNDS_MS.index(1000)
    assert rollups.latency_bucket(10**9) == len(LATENCY_BOUNDS_MS)


# --- periods and pruning -----------------------------------------------------------------------------


@contextlib.contextmanager
def local_zone(name: str) -> Iterator[None]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    rollups._starts.cache_clear()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
        rollups._starts.cache_clear()


@pytest.mark.parametrize(
    "zone", ["UTC", "Asia/Shanghai", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe"]
)
def test_periods_start_on_the_minute_and_on_local_hours_and_midnights(zone: str) -> None:
    with local_zone(zone):
        # Through a year, in steps that land on every minute of the day in turn, DST changes included.
        for ts in range(1_704_000_000, 1_704_000_000 + 366 * DAY, 86_413 * 3 + 59):
            minute, hour, day = (period_start(p, ts) for p in PERIODS)
            assert minute == ts - ts % 60
            local = datetime.fromtimestamp(day)
            assert (local.hour, local.minute, local.second) == (0, 0, 0)
            assert local.date() == datetime.fromtimestamp(ts).date()
            assert day <= hour <= minute <= ts < hour + HOUR
            assert (hour - day) % HOUR == 0
    with pytest.raises(ValueError):
        period_start(7, 0)


def test_prune_keeps_minutes_three_days_hours_ninety_and_days_for_good(db: Database) -> None:
    now = T0 + 200 * DAY
    tally = Tally()
    for age in (100 * DAY, 10 * DAY, 2 * DAY):
        tally.accepted(now - age, {(1, "mobile", "marketing"): 1})
        tally.submitted(now - age, "smsc-1", [(1, "mobile", "marketing", now - age)])
    run(db, tally.write)
    # Two minute rows and one hour row of each key: two traffic keys (accepted, submitted), one latency.
    assert run(db, prune, now) == 3 * 2 + 3 * 1
    assert run(db, prune, now) == 0
    kept = {
        MINUTE: {period_start(MINUTE, now - 2 * DAY)},
        HOUR: {period_start(HOUR, now - age) for age in (10 * DAY, 2 * DAY)},
        DAY: {period_start(DAY, now - age) for age in (100 * DAY, 10 * DAY, 2 * DAY)},
    }
    with db.read_engine.connect() as conn:
        for table in (traffic_stats, latency_stats):
            starts: dict[int, set[int]] = defaultdict(set)
            for period, start in conn.execute(sa.select(table.c.period, table.c.start)):
                starts[period].add(start)
            assert starts == kept, table.name


def test_postgres_processes_add_to_the_same_figures_without_waiting_for_each_other(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes' transactions counting the same minute, side by side: neither waits for the
    other's row lock (which, across the several rows of a group commit, could deadlock)."""
    if db.dialect != "postgresql":
        pytest.skip("row locks between concurrent writers: PostgreSQL only (SQLite writers take turns)")
    first, second = db.engine.connect(), db.engine.connect()
    try:
        for writer, conn in ((11, first), (22, second)):
            monkeypatch.setitem(rollups._WRITER, "postgresql", writer)
            conn.begin()
            conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            tally = Tally()
            tally.accepted(T0, {(1, "mobile", "verification"): 5})
            tally.write(conn)  # the second would wait here (and time out) on a shared row
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    with db.engine.connect() as conn:
        figures = traffic(conn, period=MINUTE, since=T0 - MINUTE, until=T0 + MINUTE)
    assert figures[()].accepted == 10


def test_figures_written_twice_to_one_row_add_up(db: Database) -> None:
    """The second write of a key lands on the row the first made (an upsert): nothing is lost or
    counted twice, on both backends."""
    for _ in range(2):
        tally = Tally()
        tally.accepted(T0, {(1, "mobile", "marketing"): 3})
        tally.submitted(T0 + 1, "smsc-1", [(1, "mobile", "marketing", T0)] * 2)
        run(db, tally.write)
    minute = period_start(MINUTE, T0)
    with db.read_engine.connect() as conn:
        assert traffic(conn, period=MINUTE, since=minute, until=minute + 60, by=("connector",)) == {
            ("",): Figures(accepted=6),
            ("smsc-1",): Figures(submitted=4),
        }
        [submit] = latency(conn, metric="submit", period=HOUR, since=0, until=T0 + DAY).values()
        assert (submit.count, submit.total_ms) == (4, 4 * 1_000)
        rows = conn.execute(sa.select(sa.func.count()).select_from(traffic_stats)).scalar_one()
        assert rows == 2 * 3  # two keys, three periods each
