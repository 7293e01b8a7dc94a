"""deploy/: the Grafana dashboard, the alert rules and the scrape config ask only for what /metrics
gives.

The test fills every kind of figure, scrapes /metrics, and checks that each metric name the
dashboard's queries and the alerts' expressions use is one the scrape really has, so the files cannot
drift from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from smsplatform import telemetry
from smsplatform.store.clock import now
from smsplatform.store.database import Database
from smsplatform.store.rollups import DAY, period_start
from smsplatform.store.schema import latency_stats
from tests.admin.test_metrics import CallbackStats, Link, add_traffic, scrape
from tests.dispatch.support import run

DEPLOY = Path(__file__).parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "smsplatform.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
SCRAPE_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS_TEST = DEPLOY / "prometheus" / "alerts_test.yml"  # for `promtool test rules`

METRIC_NAME = re.compile(r"\bsmsplatform_[a-zA-Z0-9_]+")


def dashboard_queries() -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(DASHBOARD.read_text()))
    return found


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def balanced(expression: str) -> bool:
    """Brackets and braces close in order (outside label values)."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for char in re.sub(r'"[^"]*"', '""', expression):
        if char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


async def exposed_names(db: Database) -> set[str]:
    """The sample names of a scrape in which every family has samples."""
    today = period_start(DAY, now())
    for state in ("accepted", "submitted", "delivered", "failed"):
        add_traffic(db, DAY, today, kind=state, **{state: 1})
    for metric in ("submit", "report"):
        row = {"period": DAY, "start": today, "metric": metric, "carrier": "mobile", "connector": "sim-cmpp"}
        row |= {"bucket": 2, "count": 1, "total_ms": 300}
        run(db, lambda conn, r=row: conn.execute(sa.insert(latency_stats).values(**r)))  # type: ignore[misc]
    telemetry.LinkExporter().update(
        {"deploy-link": Link(sent=3, errors=1, received_reports=2, received_mo=1, timeouts=1, reconnects=1)}
    )
    telemetry.CallbackExporter().update(CallbackStats(delivered=2, failed=1, dead=1))
    telemetry.API_REQUESTS["send", 0] += 1
    return {sample.name for sample in await scrape(db)}


def test_files_are_well_formed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["title"] and panel["targets"], panel
    queries = dashboard_queries()
    assert queries and all(balanced(q) for q in queries), [q for q in queries if not balanced(q)]

    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= {
        "SmsLinkDown",
        "SmsCallbackBacklogGrowing",
        "SmsDeliveryRateLow",
    }
    for rule in rules:
        assert balanced(rule["expr"]), rule["alert"]
        assert rule["for"] and rule["labels"]["severity"] and rule["annotations"]["summary"], rule["alert"]
    durations = {rule["alert"]: rule["for"] for rule in rules}
    assert durations["SmsLinkDown"] == "2m" and durations["SmsCallbackBacklogGrowing"] == "10m"

    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    assert [(SCRAPE_CONFIG.parent / f).exists() for f in config["rule_files"]] == [True]
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"

    story = yaml.safe_load(ALERTS_TEST.read_text())
    assert story["rule_files"] == ["alerts.yml"]
    tested = {case["alertname"] for test in story["tests"] for case in test["alert_rule_test"]}
    assert tested == {rule["alert"] for rule in rules}


def alerts_test_series() -> list[str]:
    story = yaml.safe_load(ALERTS_TEST.read_text())
    return [series["series"] for test in story["tests"] for series in test["input_series"]]


SOURCES = {
    "dashboard": dashboard_queries,
    "alerts": lambda: [rule["expr"] for rule in alert_rules()],
    "alerts_test": alerts_test_series,
}


@pytest.mark.parametrize("source", sorted(SOURCES))
async def test_every_metric_they_use_is_exposed(db: Database, source: str) -> None:
    expressions = SOURCES[source]()
    used = {name for expression in expressions for name in METRIC_NAME.findall(expression)}
    assert used
    missing = used - await exposed_names(db)
    assert not missing, f"{source} uses metrics /metrics does not expose: {sorted(missing)}"
