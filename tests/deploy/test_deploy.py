"""deploy/: the Grafana dashboard, the alert rules and the scrape config ask only for what /metrics
gives; the compose file and the systemd units run every role as the README says, with command lines
and settings the platform takes.

The test fills every kind of figure, scrapes /metrics, and checks that each metric name the
dashboard's queries and the alerts' expressions use is one the scrape really has, so the files cannot
drift from the code.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from smsplatform import telemetry
from smsplatform.cli import build_parser
from smsplatform.config import ENV_PREFIX, Settings, load_settings
from smsplatform.store.clock import now
from smsplatform.store.database import Database
from smsplatform.store.rollups import DAY, period_start
from smsplatform.store.schema import latency_stats
from smsplatform.workers import STOP_TIMEOUT
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


# --- the scaled-out deployment: compose, nginx, the systemd units -------------------------------------

COMPOSE = DEPLOY / "compose.yaml"
NGINX = DEPLOY / "nginx.conf"
COMPOSE_SCRAPE_CONFIG = DEPLOY / "prometheus" / "compose.yml"
UNITS = DEPLOY / "systemd"
ENV_EXAMPLE = UNITS / "env.example"
NODES = ("api-1", "api-2", "dispatch-1", "dispatch-2", "callbacks", "console")
UNIT_NAMES = ("api", "dispatch", "callbacks", "console")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def platform_services() -> dict[str, dict[str, Any]]:
    """The services that run the platform's image (the nodes and the migration)."""
    return {
        name: svc for name, svc in compose()["services"].items() if svc.get("image") == "smsplatform:latest"
    }


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections and their settings (each key with every value it is given)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def unit_files() -> list[str]:
    return sorted(path.name for path in UNITS.glob("*.service"))


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)?", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_compose_runs_every_role_after_the_migration_on_postgres_and_redis() -> None:
    services = compose()["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "nginx", "prometheus", *NODES}
    nodes = platform_services()
    assert set(nodes) == {"migrate", *NODES}
    assert nodes["migrate"]["command"] == ["migrate"] and nodes["migrate"]["restart"] == "no"
    roles = {}
    for name in NODES:
        node = nodes[name]
        assert node["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert "--no-migrate" in node["command"] and node["environment"]["SMSPLATFORM_MIGRATE"] == "false"
        assert seconds(node["stop_grace_period"]) > STOP_TIMEOUT, name
        probe = " ".join(node["healthcheck"]["test"])
        assert "/readyz" in probe, name
        args = build_parser().parse_args(node["command"])
        roles[name] = args.role
        # The probe asks the port the node answers it on: the API's, or the health port.
        port = args.port if args.role == "api" else args.health_port
        assert f"127.0.0.1:{port}/readyz" in probe, name
    assert roles == {
        "api-1": "api",
        "api-2": "api",
        "dispatch-1": "dispatch",
        "dispatch-2": "dispatch",
        "callbacks": "callbacks",
        "console": "admin",
    }
    names = [nodes[name]["environment"]["SMSPLATFORM_NODE_NAME"] for name in NODES]
    assert len(set(names)) == len(names), "two nodes of one platform with one name"
    postgres = " ".join(services["postgres"]["command"])
    for setting in ("autovacuum=on", "synchronous_commit=on", "max_connections="):
        assert setting in postgres, setting


def test_the_api_nodes_believe_forwarded_headers_from_nginx_alone() -> None:
    services = compose()["services"]
    proxy = services["nginx"]["networks"]["platform"]["ipv4_address"]
    for name in ("api-1", "api-2"):
        assert services[name]["environment"]["SMSPLATFORM_FORWARDED_ALLOW_IPS"] == proxy
    config = NGINX.read_text()
    assert set(re.findall(r"^\s*server (api-\d):8080\b", config, re.MULTILINE)) == {"api-1", "api-2"}
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config  # replaced, not appended to
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_prometheus_of_compose_scrapes_the_console() -> None:
    services = compose()["services"]
    assert "--config.file=/etc/prometheus/compose.yml" in services["prometheus"]["command"]
    config = yaml.safe_load(COMPOSE_SCRAPE_CONFIG.read_text())
    assert [(COMPOSE_SCRAPE_CONFIG.parent / f).exists() for f in config["rule_files"]] == [True]
    (job,) = config["scrape_configs"]
    console = build_parser().parse_args(services["console"]["command"])
    assert job["static_configs"][0]["targets"] == [f"console:{console.admin_port}"]
    assert console.admin_host == "0.0.0.0"


def command_lines() -> list[tuple[str, list[str]]]:
    """Every `smsplatform` command line of the compose file and the units: (where, its arguments)."""
    lines = [(f"compose {name}", list(svc["command"])) for name, svc in platform_services().items()]
    for name in unit_files():
        (exec_start,) = unit(name)["Service"]["ExecStart"]
        binary, *arguments = shlex.split(exec_start)
        assert binary.endswith("/smsplatform"), name
        lines.append((name, arguments))
    return lines


def test_every_smsplatform_command_line_parses_with_the_real_parser() -> None:
    parser = build_parser()
    lines = command_lines()
    assert len(lines) == len(NODES) + 1 + len(UNIT_NAMES) + 1
    for where, arguments in lines:
        try:
            args = parser.parse_args(arguments)
        except SystemExit:
            pytest.fail(f"{where}: `smsplatform {' '.join(arguments)}` does not parse")
        if args.group == "serve":
            assert args.no_migrate, f"{where}: a node that migrates"


def environments() -> list[tuple[str, dict[str, str]]]:
    found = [(f"compose {name}", dict(svc["environment"])) for name, svc in platform_services().items()]
    example = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
    found.append((ENV_EXAMPLE.name, example))
    for name in unit_files():
        for assignment in unit(name)["Service"].get("Environment", []):
            key, _, value = assignment.partition("=")
            found.append((name, {key: value}))
    return found


def test_every_setting_in_their_environment_is_a_real_setting() -> None:
    known = {f"{ENV_PREFIX}{f.name.upper()}" for f in dataclasses.fields(Settings)}
    for where, environment in environments():
        unknown = {key for key in environment if key.startswith(ENV_PREFIX)} - known - {f"{ENV_PREFIX}CONFIG"}
        assert not unknown, f"{where}: not settings: {sorted(unknown)}"
        # Every value is one the setting takes (compose's ${...} placeholders stand for text).
        given = {key: ("x" if value.startswith("${") else value) for key, value in environment.items()}
        settings = load_settings(environ=given)
        assert settings.migrate is False or where.startswith("compose migrate"), where


def test_the_units_stop_with_sigterm_after_the_migration_and_restart_on_failure() -> None:
    assert unit_files() == sorted(
        ["smsplatform-migrate.service", *(f"smsplatform-{name}.service" for name in UNIT_NAMES)]
    )
    migration = unit("smsplatform-migrate.service")["Service"]
    assert migration["Type"] == ["oneshot"] and migration["RemainAfterExit"] == ["yes"]
    for name in UNIT_NAMES:
        sections = unit(f"smsplatform-{name}.service")
        service = sections["Service"]
        assert "smsplatform-migrate.service" in sections["Unit"]["Requires"], name
        assert "smsplatform-migrate.service" in " ".join(sections["Unit"]["After"]), name
        assert service["EnvironmentFile"] == ["/etc/smsplatform/env"], name
        assert service["Restart"] == ["on-failure"] and service["KillSignal"] == ["SIGTERM"], name
        assert seconds(service["TimeoutStopSec"][0]) > STOP_TIMEOUT, name
        for hardening in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
            assert service[hardening][0] in ("yes", "strict"), (name, hardening)


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("needs systemd-analyze (systemd) to verify the units")
    smsplatform = shutil.which("smsplatform") or str(Path(sys.executable).parent / "smsplatform")
    if not Path(smsplatform).exists():
        pytest.skip("needs the smsplatform command installed to verify the units' ExecStart")
    for name in unit_files():
        # The units name the binary where the README installs it; verify checks that it exists.
        text = (UNITS / name).read_text().replace("/opt/smsplatform/venv/bin/smsplatform", smsplatform)
        (tmp_path / name).write_text(text)
    verified = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in unit_files())],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stderr
    problems = [line for line in verified.stderr.splitlines() if "smsplatform" in line]
    assert not problems, problems
