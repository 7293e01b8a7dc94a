"""/metrics: what a Prometheus server scraping the admin listener reads.

The exposition is parsed with prometheus-client's own parser and checked against what each test put
in: rollup rows, queued messages and callbacks, link stats of this process, of a dispatch worker (a
real child process writing through multiprocess mode) and of processes elsewhere (their reports in
the database), API requests. One end-to-end test scrapes a real `serve` with a dispatch worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from starlette.applications import Starlette
from starlette.routing import Route

from smsplatform import telemetry
from smsplatform.admin.context import AdminContext
from smsplatform.admin.metrics import metrics_endpoint
from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.store.callbacks import enqueue_report, mark_done
from smsplatform.store.clock import now
from smsplatform.store.connectors import LinkHealth, record_stats
from smsplatform.store.database import Database
from smsplatform.store.rollups import DAY, HOUR, MINUTE, period_start
from smsplatform.store.schema import callbacks, latency_stats, messages, traffic_stats
from tests.dispatch.support import make_account, queue, run
from tests.e2e.receiver import Receiver, receiver
from tests.e2e.support import Platform, platform_env, running, wait_for
from tests.e2e.test_delivery import SIGNATURE, _onboard

Samples = list[Sample]


async def scrape(db: Database) -> Samples:
    """Every sample of one scrape of /metrics, as Prometheus' text format gives it."""
    ctx = AdminContext(settings=Settings(), db=db, secret_key="test")
    app = Starlette(routes=[Route("/metrics", metrics_endpoint(ctx))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin") as client:
        reply = await client.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(reply.text)


def parse(text: str) -> Samples:
    """The samples of an exposition, each series once (Prometheus refuses a scrape that repeats one)."""
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
    series = [(s.name, tuple(sorted(s.labels.items()))) for s in samples]
    assert len(series) == len(set(series)), sorted(k for k in series if series.count(k) > 1)
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly `labels`, or None when there is none."""
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) <= 1, f"{name} {labels} appears {len(found)} times"
    return found[0] if found else None


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples `name` whose labels include `labels`."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def connectors_in(samples: Samples, name: str) -> set[str]:
    return {s.labels["connector"] for s in samples if s.name == name}


# --- messages and latency, from the rollups ---------------------------------------------------------


def add_traffic(
    db: Database,
    period: int,
    start: int,
    *,
    customer_id: int = 1,
    carrier: str = "mobile",
    connector: str = "sim-cmpp",
    kind: str = "verification",
    **figures: int,
) -> None:
    row = {"period": period, "start": start, "customer_id": customer_id, "carrier": carrier}
    row |= {"connector": connector, "kind": kind, **figures}
    run(db, lambda conn: conn.execute(sa.insert(traffic_stats).values(**row)))


async def test_messages_by_state_carrier_connector_and_kind_count_every_day_once(db: Database) -> None:
    today = period_start(DAY, now())
    long_ago = period_start(DAY, today - 40 * DAY)
    yesterday = period_start(DAY, today - 1)
    for start in (long_ago, yesterday, today):
        add_traffic(db, DAY, start, accepted=0, submitted=10, delivered=8, failed=1)
    # Two customers' rows add up: customers are not a label.
    add_traffic(db, DAY, today, customer_id=2, submitted=5, delivered=5)
    add_traffic(db, DAY, today, connector="", accepted=20)
    add_traffic(db, DAY, today, carrier="unicom", connector="sim-sgip", kind="marketing", failed=3)
    # Minute and hour rows hold the same changes again: they are not counted a second time.
    add_traffic(db, MINUTE, now() - now() % MINUTE, submitted=99, delivered=99)
    add_traffic(db, HOUR, period_start(HOUR, now()), submitted=99, delivered=99)

    samples = await scrape(db)
    mobile = {"carrier": "mobile", "connector": "sim-cmpp", "kind": "verification"}
    assert value(samples, "smsplatform_messages_total", state="submitted", **mobile) == 35
    assert value(samples, "smsplatform_messages_total", state="delivered", **mobile) == 29
    assert value(samples, "smsplatform_messages_total", state="failed", **mobile) == 3
    assert value(samples, "smsplatform_messages_total", state="accepted", **mobile | {"connector": ""}) == 20
    unicom = {"carrier": "unicom", "connector": "sim-sgip", "kind": "marketing"}
    assert value(samples, "smsplatform_messages_total", state="failed", **unicom) == 3
    assert value(samples, "smsplatform_messages_total", state="delivered", **unicom) is None

    # Today's changes show at the next scrape; the earlier days' sums were kept from the first.
    run(
        db,
        lambda conn: conn.execute(
            sa.update(traffic_stats)
            .where(
                traffic_stats.c.period == DAY,
                traffic_stats.c.start == today,
                traffic_stats.c.customer_id == 1,
            )
            .where(traffic_stats.c.connector == "sim-cmpp")
            .values(delivered=traffic_stats.c.delivered + 4)
        ),
    )
    assert value(await scrape(db), "smsplatform_messages_total", state="delivered", **mobile) == 33


async def test_accepted_messages_show_as_they_are_accepted(db: Database) -> None:
    account = make_account(db)
    queue(db, account, ["13800000001", "13800000002"], carrier="mobile", now=now())
    samples = await scrape(db)
    accepted = {"carrier": "mobile", "connector": "", "kind": "notification"}
    assert value(samples, "smsplatform_messages_total", state="accepted", **accepted) == 2
    assert value(samples, "smsplatform_messages_queued") == 2


async def test_latency_histograms_are_cumulative_in_seconds(db: Database) -> None:
    today = period_start(DAY, now())

    def bucket(metric: str, start: int, bucket: int, count: int, total_ms: int) -> None:
        row = {"period": DAY, "start": start, "metric": metric, "carrier": "mobile", "connector": "sim-cmpp"}
        row |= {"bucket": bucket, "count": count, "total_ms": total_ms}
        run(db, lambda conn: conn.execute(sa.insert(latency_stats).values(**row)))

    bucket("submit", today - 10 * DAY, 0, 3, 150)  # ≤ 100 ms
    bucket("submit", today, 3, 1, 800)  # ≤ 1 s
    bucket("submit", today, 12, 1, 4_000_000)  # over the last bound (1 h)
    bucket("report", today, 5, 2, 9000)  # ≤ 5 s

    samples = await scrape(db)
    labels = {"carrier": "mobile", "connector": "sim-cmpp"}
    submit = {
        float(s.labels["le"]): s.value
        for s in samples
        if s.name == "smsplatform_submit_latency_seconds_bucket"
        and {k: v for k, v in s.labels.items() if k != "le"} == labels
    }
    assert submit[0.1] == 3 and submit[0.25] == 3 and submit[0.5] == 3
    assert submit[1.0] == 4 and submit[3600.0] == 4 and submit[float("inf")] == 5
    assert list(submit.values()) == sorted(submit.values())  # cumulative
    assert value(samples, "smsplatform_submit_latency_seconds_count", **labels) == 5
    assert value(samples, "smsplatform_submit_latency_seconds_sum", **labels) == pytest.approx(4000.95)
    assert value(samples, "smsplatform_report_latency_seconds_bucket", le="2.5", **labels) == 0
    assert value(samples, "smsplatform_report_latency_seconds_bucket", le="5.0", **labels) == 2
    assert value(samples, "smsplatform_report_latency_seconds_sum", **labels) == pytest.approx(9.0)


# --- queue and callback backlog -------------------------------------------------------------------


async def test_queue_depth_messages_in_flight_and_callback_backlog(db: Database) -> None:
    samples = await scrape(db)
    for name in (
        "smsplatform_messages_queued",
        "smsplatform_messages_in_flight",
        "smsplatform_callback_backlog",
    ):
        assert value(samples, name) == 0, name

    account = make_account(db)
    ids = queue(db, account, [f"1380000000{i}" for i in range(5)], now=now())

    def progress(conn: sa.Connection) -> None:
        conn.execute(sa.update(messages).where(messages.c.id.in_(ids[:2])).values(state="submitting"))
        conn.execute(sa.update(messages).where(messages.c.id == ids[2]).values(state="delivered"))
        for mobile in ("13800000001", "13800000002", "13800000003"):
            enqueue_report(conn, account.id, {"mobile": mobile, "status": "DELIVRD"}, now())
        first = conn.execute(sa.select(sa.func.min(callbacks.c.id))).scalar_one()
        mark_done(conn, [first], now())

    run(db, progress)
    samples = await scrape(db)
    assert value(samples, "smsplatform_messages_queued") == 2
    assert value(samples, "smsplatform_messages_in_flight") == 2
    assert value(samples, "smsplatform_callback_backlog") == 2


def test_the_counts_walk_indexes_not_the_tables(tmp_path: Path) -> None:
    """Every few seconds on a table of ten million messages: each count reads only the rows it counts."""
    from smsplatform.store.backlog import backlog

    db = Database.open(f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        statements: list[str] = []
        with db.engine.connect() as conn:

            def record(*args: object) -> None:
                if str(args[2]).lstrip().upper().startswith("SELECT"):
                    statements.append(str(args[2]))

            sa.event.listen(conn, "before_cursor_execute", record)
            backlog(conn)
            sa.event.remove(conn, "before_cursor_execute", record)
            plans = [str(conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {s}").fetchall()) for s in statements]
    finally:
        db.close()
    assert len(plans) == 3
    for plan in plans:
        assert "USING" in plan and "INDEX" in plan, plan


# --- links ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A link's stats as the connector manager gives them."""

    state: str = "bound"
    in_flight: int = 0
    sent: int = 0
    errors: int = 0
    received_reports: int = 0
    received_mo: int = 0
    timeouts: int = 0
    reconnects: int = 0
    binds: int = 1
    window: int = 16
    submit_rate: float = 0.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def test_links_of_this_process(db: Database) -> None:
    name = unique("link")
    exporter = telemetry.LinkExporter()
    exporter.update(
        {name: Link(in_flight=5, sent=10, errors=1, received_reports=7, binds=2, submit_rate=3.5)}
    )
    samples = await scrape(db)
    assert value(samples, "smsplatform_connector_up", connector=name) == 1
    assert value(samples, "smsplatform_connector_links", connector=name, state="bound") == 1
    assert value(samples, "smsplatform_connector_links", connector=name, state="backoff") == 0
    assert value(samples, "smsplatform_connector_sessions", connector=name) == 2
    assert value(samples, "smsplatform_connector_window_size", connector=name) == 16
    assert value(samples, "smsplatform_connector_window_in_use", connector=name) == 5
    assert value(samples, "smsplatform_connector_submits_per_second", connector=name) == 3.5
    assert value(samples, "smsplatform_connector_submits_total", connector=name, result="accepted") == 10
    assert value(samples, "smsplatform_connector_submits_total", connector=name, result="error") == 1
    assert value(samples, "smsplatform_connector_reports_total", connector=name) == 7

    # The link goes down and keeps sending what it could; counters only grow.
    exporter.update({name: Link(state="backoff", sent=12, errors=4, binds=0)})
    samples = await scrape(db)
    assert value(samples, "smsplatform_connector_up", connector=name) == 0
    assert value(samples, "smsplatform_connector_links", connector=name, state="backoff") == 1
    assert value(samples, "smsplatform_connector_links", connector=name, state="bound") == 0
    assert value(samples, "smsplatform_connector_submits_total", connector=name, result="accepted") == 12
    assert value(samples, "smsplatform_connector_submits_total", connector=name, result="error") == 4

    # Removed: no gauges say it is down (no alert for a link nobody runs); its counts stay.
    exporter.update({})
    samples = await scrape(db)
    for family in telemetry.LINK_GAUGES:
        assert name not in connectors_in(samples, family), family
    assert value(samples, "smsplatform_connector_submits_total", connector=name, result="accepted") == 12


async def test_links_that_run_elsewhere_as_their_processes_reported_them(db: Database) -> None:
    remote, shared = unique("remote"), unique("shared")
    reported = [
        (
            "host-b:1",
            [
                LinkHealth(remote, "bound", 3, 0, 0, 0, 0, binds=1, window=8, submit_rate=2.0),
                LinkHealth(shared, "bound", 7, 0, 0, 0, 0, binds=1, window=4),
            ],
        ),
        ("host-c:1", [LinkHealth(remote, "backoff", 0, 0, 0, 0, 0, window=8)]),
    ]
    for process, health in reported:
        run(db, lambda conn, p=process, h=health: record_stats(conn, p, h, now()))  # type: ignore[misc]
    # This process runs `shared` too, in as many processes as reported it: its own figures are fresher.
    telemetry.LinkExporter().update({shared: Link(in_flight=5, window=4)})

    samples = await scrape(db)
    assert value(samples, "smsplatform_connector_up", connector=remote) == 0
    assert value(samples, "smsplatform_connector_links", connector=remote, state="bound") == 1
    assert value(samples, "smsplatform_connector_links", connector=remote, state="backoff") == 1
    assert value(samples, "smsplatform_connector_sessions", connector=remote) == 1
    assert value(samples, "smsplatform_connector_window_size", connector=remote) == 8
    assert value(samples, "smsplatform_connector_window_in_use", connector=remote) == 3
    assert value(samples, "smsplatform_connector_submits_per_second", connector=remote) == 2.0
    assert value(samples, "smsplatform_connector_window_in_use", connector=shared) == 5


def test_a_dispatch_workers_figures_reach_metrics_through_its_directory(tmp_path: Path) -> None:
    """A real child process, as serve starts a dispatch worker: its figures are merged while it runs;
    once it is gone its gauges go, its counts stay."""
    import asyncio

    name = unique("worker-link")
    workers = telemetry.WorkerMetrics()
    child = (
        "import sys\n"
        "from types import SimpleNamespace as S\n"
        "from smsplatform.telemetry import LinkExporter\n"
        f"link = S(state='bound', in_flight=2, sent=7, errors=0, received_reports=3, received_mo=1,"
        " timeouts=0, reconnects=0, binds=1, window=16, submit_rate=1.5)\n"
        f"LinkExporter().update({{{name!r}: link}})\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"
    )
    db = Database.open(f"sqlite:///{tmp_path / 'metrics.db'}")
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", child],
            env=os.environ | workers.environ(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline().strip() == "ready"
        samples = asyncio.run(scrape(db))
        assert value(samples, "smsplatform_connector_up", connector=name) == 1
        assert value(samples, "smsplatform_connector_links", connector=name, state="bound") == 1
        assert value(samples, "smsplatform_connector_window_in_use", connector=name) == 2
        assert value(samples, "smsplatform_connector_submits_total", connector=name, result="accepted") == 7
        assert value(samples, "smsplatform_connector_replies_total", connector=name) == 1

        process.stdin.close()
        assert process.wait(timeout=10) == 0
        workers.process_gone(process.pid)
        samples = asyncio.run(scrape(db))
        assert name not in connectors_in(samples, "smsplatform_connector_up")
        assert value(samples, "smsplatform_connector_submits_total", connector=name, result="accepted") == 7
    finally:
        workers.close()
        db.close()
    assert not Path(workers.path).exists()
    samples = asyncio.run(_scrape_fresh(tmp_path))
    assert value(samples, "smsplatform_connector_submits_total", connector=name, result="accepted") is None


async def _scrape_fresh(tmp_path: Path) -> Samples:
    db = Database.open(f"sqlite:///{tmp_path / 'metrics.db'}")
    try:
        return await scrape(db)
    finally:
        db.close()


# --- callbacks and API requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackStats:
    delivered: int
    failed: int
    dead: int


async def test_callback_attempts_and_failures(db: Database) -> None:
    before = await scrape(db)

    def count(samples: Samples, name: str, **labels: str) -> float:
        return value(samples, name, **labels) or 0.0

    exporter = telemetry.CallbackExporter()
    exporter.update(CallbackStats(delivered=10, failed=3, dead=1))
    exporter.update(CallbackStats(delivered=12, failed=3, dead=1))
    after = await scrape(db)
    delivered, failed = {"result": "delivered"}, {"result": "failed"}
    attempts = "smsplatform_callback_attempts_total"
    assert count(after, attempts, **delivered) - count(before, attempts, **delivered) == 12
    assert count(after, attempts, **failed) - count(before, attempts, **failed) == 3
    given_up = "smsplatform_callbacks_given_up_total"
    assert count(after, given_up) - count(before, given_up) == 1


async def test_api_requests_by_endpoint_and_code(db: Database) -> None:
    platform = build_platform(Settings(ip_limit_per_second=0, ip_limit_per_minute=0), db, background=False)
    before = await scrape(db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=platform.app), base_url="http://api"
    ) as api:
        answers = [(await api.get("/sms/balance", params={"appkey": "nobody"})).json() for _ in range(3)]
        await api.get("/healthz")  # not an endpoint of the customer API: not counted
    codes = {str(answer["status"]) for answer in answers}
    assert len(codes) == 1 and codes != {"0"}
    after = await scrape(db)
    assert all(s.labels["code"].isdigit() for s in after if s.name == "smsplatform_api_requests_total")
    added = {
        (s.labels["endpoint"], s.labels["code"]): s.value - (value(before, s.name, **s.labels) or 0.0)
        for s in after
        if s.name == "smsplatform_api_requests_total"
    }
    assert {key: n for key, n in added.items() if n} == {("balance", codes.pop()): 3}


# --- a real serve ------------------------------------------------------------------------------------


@pytest.fixture
def callback_receiver() -> Iterator[Receiver]:
    with receiver() as rec:
        yield rec


@pytest.mark.e2e
def test_serve_exposes_its_dispatch_workers_links_and_the_platforms_traffic(
    tmp_path: Path, callback_receiver: Receiver
) -> None:
    env = platform_env(dispatch_workers="1")
    metrics_url = f"http://127.0.0.1:{env['SMSPLATFORM_ADMIN_PORT']}/metrics"
    with running(Platform(data_dir=tmp_path, env=env)) as platform:
        appkey, _ = _onboard(platform, callback_receiver)
        content = f"{SIGNATURE}您的验证码是4321，5分钟内有效"
        sent = platform.api("send", appkey=appkey, mobile="13800000001", content=content)
        assert sent["status"] == "0", sent
        wait_for(lambda: len(callback_receiver.items("/status")) == 1, 30, "the status report")

        def scraped() -> Samples:
            return parse(httpx.get(metrics_url, timeout=5).text)

        def settled() -> bool:
            samples = scraped()
            link = {"connector": "sim-cmpp"}
            return (
                total(samples, "smsplatform_messages_total", state="delivered", carrier="mobile", **link) == 1
                # Only the dispatch worker runs links: these come through its multiprocess files.
                and value(samples, "smsplatform_connector_submits_total", result="accepted", **link) == 1
                and value(samples, "smsplatform_connector_links", state="bound", **link) == 1
                and value(samples, "smsplatform_callback_attempts_total", result="delivered") == 1
            )

        wait_for(settled, 20, "the delivery in /metrics")
        samples = scraped()
        assert value(samples, "smsplatform_connector_up", connector="sim-cmpp") == 1
        assert value(samples, "smsplatform_api_requests_total", endpoint="send", code="0") == 1
        latency = "smsplatform_submit_latency_seconds_count"
        assert value(samples, latency, carrier="mobile", connector="sim-cmpp") == 1
        assert value(samples, "smsplatform_messages_queued") == 0
