"""Connectors (links to SMSCs): add and edit them with each protocol's field limits checked before
saving, remove, stop and start them (as Kannel's stop-smsc), and see their health per process.

A running `serve` picks every change up at its next configuration refresh: a changed connector's links
are replaced, a stopped one unbinds gracefully and its carriers fail over to the next of their route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa

from smsplatform.admin import audit, checks, routing
from smsplatform.admin.actors import Actor, Permission
from smsplatform.domain.connectors import PROTOCOLS, check_connector_fields
from smsplatform.domain.expiry import RECEIPT_TIMEOUT_OPTION, parse_seconds
from smsplatform.domain.routes import SIMULATED_LINKS
from smsplatform.store import connectors, schema
from smsplatform.store.connectors import NOT_RUNNING, ConnectorExists, ConnectorRow
from smsplatform.store.widths import width

# A connector's name is kept wherever its traffic is: routes, messages and health too.
MAX_NAME = width(
    schema.connectors.c.name,
    schema.routes.c.connector,
    schema.messages.c.connector,
    schema.connector_stats.c.name,
)
_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_NAME - 1}}}")
MAX_WINDOW = 4096
MAX_TPS = 1_000_000
# The option capping a connector's binds across every node (dispatch/connector_config.py reads it).
MAX_BINDS_OPTION = "max_binds"
MAX_BINDS = 1000


@dataclass(frozen=True, slots=True)
class ConnectorHealth:
    """A link's health, as its processes last reported it (see store.connectors.connector_stats)."""

    state: str  # bound, connecting, backoff, stopping, stopped, not running
    since: int | None  # when it went into that state
    last_error: str  # why it last failed to connect or bind, or was dropped
    last_error_at: int | None
    binds: int  # sessions bound now
    window: int  # unanswered submits its sessions may have
    in_flight: int  # of which in use
    submit_rate: float  # submits/s accepted, over the last interval
    sent: int
    errors: int
    reports: int
    inbound: int
    updated_at: int | None  # the latest report


@dataclass(frozen=True, slots=True)
class ProcessHealth:
    process: str
    health: ConnectorHealth


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    name: str
    protocol: str
    builtin: bool  # a built-in simulated link (no settings of its own here)
    host: str
    port: int
    system_id: str
    password: str  # masked
    window: int  # unanswered submits a session may have
    tps: int | None  # submits per second cap; None: none
    source_number: str
    carriers: tuple[str, ...]  # carriers it declares it serves
    options: dict[str, str]  # protocol options, secrets masked
    stopped: bool  # stopped by the operator
    routes: list[str]  # carriers whose messages go to it now (see routing.list_routes)
    health: ConnectorHealth
    processes: list[ProcessHealth]  # the health each process reported


_IDLE = ConnectorHealth(NOT_RUNNING, None, "", None, 0, 0, 0, 0.0, 0, 0, 0, 0, None)


def _health(found: Mapping[str, Any] | None) -> ConnectorHealth:
    if not found:
        return _IDLE
    return ConnectorHealth(
        state=str(found.get("state", NOT_RUNNING)),
        since=found.get("since"),
        last_error=str(found.get("last_error") or ""),
        last_error_at=found.get("last_error_at"),
        binds=int(found.get("binds") or 0),
        window=int(found.get("window") or 0),
        in_flight=int(found.get("in_flight") or 0),
        submit_rate=float(found.get("submit_rate") or 0.0),
        sent=int(found.get("sent") or 0),
        errors=int(found.get("errors") or 0),
        reports=int(found.get("reports") or 0),
        inbound=int(found.get("inbound") or 0),
        updated_at=found.get("updated_at"),
    )


def _secret(key: str) -> bool:
    return "password" in key or "secret" in key or key in audit.SECRET_KEYS


def _masked_options(options: Mapping[str, str]) -> dict[str, str]:
    return {k: (audit.MASK if _secret(k) and v else v) for k, v in sorted(options.items())}


def _config(row: ConnectorRow) -> dict[str, Any]:
    """The settings as the audit log keeps them: secrets masked."""
    return {**asdict(row), "password": audit.MASK, "options": _masked_options(row.options)}


class _Health:
    """Health and routes of every link, read once per call."""

    def __init__(self, conn: sa.Connection, simulators_on: bool) -> None:
        self.merged = connectors.connector_stats(conn)
        self.by_process = connectors.connector_stats_by_process(conn)
        self.stopped = connectors.stopped_connectors(conn)
        self.routes: dict[str, list[str]] = {}
        for carrier, entries in routing.effective(conn, simulators_on).items():
            for entry in entries:
                self.routes.setdefault(entry.connector, []).append(carrier)

    def info(self, row: ConnectorRow, *, builtin: bool = False) -> ConnectorInfo:
        return ConnectorInfo(
            name=row.name,
            protocol=row.protocol,
            builtin=builtin,
            host=row.host,
            port=row.port,
            system_id=row.system_id,
            password=audit.MASK if row.password else "",
            window=row.window,
            tps=row.tps,
            source_number=row.source_number,
            carriers=row.carriers,
            options=_masked_options(row.options),
            stopped=row.name in self.stopped,
            routes=self.routes.get(row.name, []),
            health=_health(self.merged.get(row.name)),
            processes=[
                ProcessHealth(str(found["process"]), _health(found))
                for found in self.by_process.get(row.name, [])
            ],
        )


def _builtin_row(name: str) -> ConnectorRow:
    return ConnectorRow(
        name=name,
        protocol=name.removeprefix("sim-"),
        host="",
        port=0,
        system_id="",
        password="",
        window=0,
        carriers=SIMULATED_LINKS.get(name, ()),
    )


def list_connectors(conn: sa.Connection, actor: Actor, *, simulators_on: bool = True) -> list[ConnectorInfo]:
    """The configured connectors by name, then the built-in simulated links (when the simulators are on,
    or while a process still reports one)."""
    actor.require(Permission.VIEW)
    health = _Health(conn, simulators_on)
    configured = connectors.list_connectors(conn)
    names = {row.name for row in configured}
    # Reported by a running process but not configured: built in (or removed a moment ago).
    builtin = sorted((({*SIMULATED_LINKS} if simulators_on else set()) | set(health.merged)) - names)
    return [health.info(row) for row in configured] + [
        health.info(_builtin_row(name), builtin=True) for name in builtin
    ]


def get_connector(
    conn: sa.Connection, actor: Actor, name: str, *, simulators_on: bool = True
) -> ConnectorInfo:
    actor.require(Permission.VIEW)
    return _load(conn, name, simulators_on)


def _load(conn: sa.Connection, name: str, simulators_on: bool) -> ConnectorInfo:
    health = _Health(conn, simulators_on)
    configured = {row.name: row for row in connectors.list_connectors(conn)}
    if name in configured:
        return health.info(configured[name])
    if name in SIMULATED_LINKS or name in health.merged:
        return health.info(_builtin_row(name), builtin=True)
    return health.info(connectors.get_connector(conn, name))  # raises NotFound


def _checked(row: ConnectorRow) -> ConnectorRow:
    """The settings cleaned, or a ValueError naming every problem (each protocol's field widths too)."""
    problems = []
    if not _NAME.fullmatch(row.name):
        problems.append(
            f"name: 1 to {MAX_NAME} letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    protocol = row.protocol.strip().lower()
    if protocol not in PROTOCOLS:
        problems.append(f"protocol: one of {', '.join(PROTOCOLS)}")
    host = row.host.strip()
    if not host or len(host) > width(schema.connectors.c.host) or any(c.isspace() for c in host):
        problems.append("host: a host name or address")
    if not 0 < row.port <= 65535:
        problems.append(f"port: 1 to 65535, not {row.port}")
    if not 0 < row.window <= MAX_WINDOW:
        problems.append(f"window: 1 to {MAX_WINDOW} unanswered submits, not {row.window}")
    if row.tps is not None and not 0 < row.tps <= MAX_TPS:
        problems.append(f"tps: 1 to {MAX_TPS} submits a second, not {row.tps}")
    carriers = []
    for carrier in row.carriers:
        try:
            carriers.append(checks.carrier(carrier))
        except ValueError as exc:
            problems.append(f"carriers: {exc}")
    options = {str(k).strip(): str(v) for k, v in row.options.items() if str(k).strip()}
    if MAX_BINDS_OPTION in options:
        binds = options[MAX_BINDS_OPTION].strip()
        if not binds.isdigit() or not 0 < int(binds) <= MAX_BINDS:
            problems.append(f"max binds: 1 to {MAX_BINDS} links bound at once, not {binds!r}")
        options[MAX_BINDS_OPTION] = binds
    if RECEIPT_TIMEOUT_OPTION in options:
        try:
            parse_seconds(options[RECEIPT_TIMEOUT_OPTION])
        except ValueError as exc:
            problems.append(f"option {RECEIPT_TIMEOUT_OPTION}: {exc}")
    if protocol in PROTOCOLS:
        problems += check_connector_fields(
            protocol,
            system_id=row.system_id,
            password=row.password,
            source_number=row.source_number,
            service_id=options.get("service_id", ""),
            options=options,
        )
    # The columns' own widths, for protocols whose fields are wider than the database keeps. The
    # password is kept sealed (`secrets_sealed`, ciphertext of any length) and its plain column is
    # empty: its limit is the one operators were given, not a column's width.
    for label, value, limit in (
        ("system id", row.system_id, width(schema.connectors.c.system_id)),
        ("password", row.password, 64),
        ("source number", row.source_number, width(schema.connectors.c.source_number)),
    ):
        if len(value) > limit:
            problems.append(f"{label}: at most {limit} characters")
    if problems:
        raise ValueError("; ".join(dict.fromkeys(problems)))
    return replace(
        row, protocol=protocol, host=host, carriers=tuple(dict.fromkeys(carriers)), options=options
    )


def add_connector(
    conn: sa.Connection,
    actor: Actor,
    name: str,
    *,
    protocol: str,
    host: str,
    port: int,
    system_id: str,
    password: str,
    window: int = 16,
    tps: int | None = None,
    source_number: str = "",
    carriers: Sequence[str] = (),
    options: Mapping[str, str] | None = None,
    simulators_on: bool = True,
) -> ConnectorInfo:
    """A new link; it carries the carriers it declares (after those of their operator routes)."""
    actor.require(Permission.MANAGE)
    row = _checked(
        ConnectorRow(
            name=name.strip(),
            protocol=protocol,
            host=host,
            port=port,
            system_id=system_id,
            password=password,
            window=window,
            tps=tps,
            source_number=source_number.strip(),
            carriers=tuple(carriers),
            options=dict(options or {}),
        )
    )
    try:
        connectors.add_connector(conn, row)
    except ConnectorExists as exc:
        raise ConnectorExists(f"a connector named {exc} exists already") from None
    routes = connectors.list_routes(conn)
    appended = []
    for carrier in row.carriers:  # an operator route for the carrier: last in its failover order
        if routes.get(carrier):
            connectors.set_route(conn, carrier, [*routes[carrier], row.name], builtin=sorted(SIMULATED_LINKS))
            appended.append(carrier)
    after = {**_config(row), "appended_to_routes": appended}
    audit.record(conn, actor, "connector.add", f"connector {row.name}", after=after)
    return _load(conn, row.name, simulators_on)


def edit_connector(
    conn: sa.Connection,
    actor: Actor,
    name: str,
    *,
    protocol: str | None = None,
    host: str | None = None,
    port: int | None = None,
    system_id: str | None = None,
    password: str | None = None,
    window: int | None = None,
    tps: int | None = None,
    source_number: str | None = None,
    carriers: Sequence[str] | None = None,
    options: Mapping[str, str] | None = None,
    simulators_on: bool = True,
) -> ConnectorInfo:
    """Changes what is given (None: kept). `tps` 0 removes the cap; `options` are merged, an empty value
    removing its key."""
    actor.require(Permission.MANAGE)
    before = connectors.get_connector(conn, name)
    merged = dict(before.options)
    for key, value in (options or {}).items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    changes: dict[str, Any] = {
        "protocol": protocol,
        "host": host,
        "port": port,
        "system_id": system_id,
        "password": password,
        "window": window,
        "source_number": None if source_number is None else source_number.strip(),
        "carriers": None if carriers is None else tuple(carriers),
    }
    row = replace(before, **{k: v for k, v in changes.items() if v is not None}, options=merged)
    if tps is not None:
        row = replace(row, tps=tps or None)
    row = _checked(row)
    if row != before:
        connectors.update_connector(conn, row)
        audit.record(
            conn, actor, "connector.edit", f"connector {name}", before=_config(before), after=_config(row)
        )
    return _load(conn, name, simulators_on)


def remove_connector(conn: sa.Connection, actor: Actor, name: str) -> None:
    """Removes the link and its place in every route; its running links unbind."""
    actor.require(Permission.MANAGE)
    before = connectors.get_connector(conn, name)
    routes = {carrier: names for carrier, names in connectors.list_routes(conn).items() if name in names}
    connectors.remove_connector(conn, name)
    audit.record(
        conn, actor, "connector.remove", f"connector {name}", before={**_config(before), "routes": routes}
    )


def set_stopped(
    conn: sa.Connection, actor: Actor, name: str, stopped: bool, *, simulators_on: bool = True
) -> ConnectorInfo:
    """Stops a link (it unbinds gracefully, its carriers fail over) or starts it again; a configured
    connector or a built-in simulated one. Stopping a stopped link changes nothing."""
    actor.require(Permission.MANAGE)
    if connectors.set_stopped(conn, name, stopped):
        audit.record(
            conn,
            actor,
            "connector.stop" if stopped else "connector.start",
            f"connector {name}",
            before={"stopped": not stopped},
            after={"stopped": stopped},
        )
    return _load(conn, name, simulators_on)
