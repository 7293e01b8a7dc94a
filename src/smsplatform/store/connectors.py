"""Connectors (upstream links) and routes (carrier → ordered connectors), as the operator configured them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from smsplatform.domain.routes import SIMULATED_LINKS
from smsplatform.store import schema
from smsplatform.store.clock import now
from smsplatform.store.errors import NotFound, StoreError
from smsplatform.store.schema import connectors, routes
from smsplatform.store.secrets import SecretBox, box_for, open_connector_secrets, seal_connector_secrets
from smsplatform.store.settings import bump_config_version, get_setting, set_setting

# The settings key of the links the operator stopped: their names, comma-separated.
STOPPED_CONNECTORS = "stopped_connectors"


class ConnectorExists(StoreError):
    """A connector of that name is already configured."""


@dataclass(frozen=True, slots=True)
class ConnectorRow:
    name: str
    protocol: str
    host: str
    port: int
    system_id: str
    password: str
    window: int = 16
    tps: int | None = None
    source_number: str = ""
    carriers: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)


def _from_row(box: SecretBox, row: sa.Row[tuple[object, ...]]) -> ConnectorRow:
    """The connector in plain: its password and secret options opened (store/secrets.py)."""
    m = row._mapping
    options: dict[str, str] = json.loads(m["options"] or "{}")
    password = m["password"]  # a row not sealed yet (before the platform's first start with its key)
    if m["secrets_sealed"]:
        password, secret_options = open_connector_secrets(box, m["secrets_sealed"])
        options.update(secret_options)
    return ConnectorRow(
        name=m["name"],
        protocol=m["protocol"],
        host=m["host"],
        port=m["port"],
        system_id=m["system_id"],
        password=password,
        window=m["window"],
        tps=m["tps"],
        source_number=m["source_number"],
        carriers=tuple(c for c in m["carriers"].split(",") if c),
        options=dict(sorted(options.items())),
    )


def _settings(box: SecretBox, row: ConnectorRow) -> dict[str, Any]:
    """The columns of a connector's settings, as added and as updated: its secrets sealed."""
    sealed, options = seal_connector_secrets(box, row.password, row.options)
    return {
        "protocol": row.protocol,
        "host": row.host,
        "port": row.port,
        "system_id": row.system_id,
        "password": "",
        "secrets_sealed": sealed,
        "window": row.window,
        "tps": row.tps,
        "source_number": row.source_number,
        "carriers": ",".join(row.carriers),
        "options": options,
    }


def add_connector(conn: sa.Connection, row: ConnectorRow) -> ConnectorRow:
    if conn.execute(sa.select(connectors.c.name).where(connectors.c.name == row.name)).first():
        raise ConnectorExists(row.name)
    conn.execute(
        sa.insert(connectors).values(name=row.name, **_settings(box_for(conn), row), created_at=now())
    )
    bump_config_version(conn)
    return row


def list_connectors(conn: sa.Connection) -> list[ConnectorRow]:
    box = box_for(conn)
    return [_from_row(box, r) for r in conn.execute(sa.select(connectors).order_by(connectors.c.name))]


def get_connector(conn: sa.Connection, name: str) -> ConnectorRow:
    row = conn.execute(sa.select(connectors).where(connectors.c.name == name)).first()
    if row is None:
        raise NotFound(f"connector {name}")
    return _from_row(box_for(conn), row)


def update_connector(conn: sa.Connection, row: ConnectorRow) -> ConnectorRow:
    """Replaces the settings of the connector named `row.name`; running links are replaced with it."""
    updated = conn.execute(
        sa.update(connectors).where(connectors.c.name == row.name).values(**_settings(box_for(conn), row))
    ).rowcount
    if not updated:
        raise NotFound(f"connector {row.name}")
    bump_config_version(conn)
    return row


def remove_connector(conn: sa.Connection, name: str) -> None:
    if not conn.execute(sa.delete(connectors).where(connectors.c.name == name)).rowcount:
        raise NotFound(f"connector {name}")
    conn.execute(sa.delete(routes).where(routes.c.connector == name))
    if name in stopped_connectors(conn) and name not in SIMULATED_LINKS:
        # A connector added later under the same name starts as any new one does.
        stopped = stopped_connectors(conn) - {name}
        set_setting(conn, STOPPED_CONNECTORS, ",".join(sorted(stopped)))
    bump_config_version(conn)


def set_route(
    conn: sa.Connection, carrier: str, names: Sequence[str], *, builtin: Sequence[str] = ()
) -> None:
    """Replaces the carrier's route with `names`, in failover order.

    `builtin` names connectors a running process provides without configuration (the simulators).
    """
    known = {r.name for r in list_connectors(conn)} | set(builtin)
    missing = [n for n in names if n not in known]
    if missing:
        raise NotFound(f"connector {', '.join(missing)}")
    conn.execute(sa.delete(routes).where(routes.c.carrier == carrier))
    if names:
        conn.execute(
            sa.insert(routes),
            [{"carrier": carrier, "position": i, "connector": n} for i, n in enumerate(names)],
        )
    bump_config_version(conn)


def list_routes(conn: sa.Connection) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for r in conn.execute(sa.select(routes).order_by(routes.c.carrier, routes.c.position)):
        found.setdefault(r.carrier, []).append(r.connector)
    return found


@dataclass(frozen=True, slots=True)
class LinkHealth:
    """What one dispatch process reports of one of its links (see connectors.ConnectorStats)."""

    name: str
    state: str
    in_flight: int
    sent: int
    errors: int
    reports: int
    inbound: int
    since: int | None = None  # Unix seconds the link went into its present condition
    last_error: str = ""  # why it last failed to connect or bind, or was dropped
    last_error_at: int | None = None
    binds: int = 0  # sessions bound now
    window: int = 0  # unanswered submits a session may have
    submit_rate: float = 0.0  # submit segments accepted per second, over the last interval


# A process's rows are dropped this long after its last report (it stopped, or died).
_STATS_KEPT_SECONDS = 3600
# A process counts as running a link while its report of it is this recent: processes report every
# 5 s, so one that missed three reports in a row stopped or died, and its figures no longer count.
LIVE_WITHIN = 15
_ERROR_WIDTH = cast(sa.String, schema.connector_stats.c.last_error.type).length or 200

BOUND = "bound"
NOT_RUNNING = "not running"
# Which state a link running in several processes shows when they differ: the one that needs the
# operator most. A link retrying (backoff, connecting) outranks one stopped on purpose.
_STATE_RANK = {"backoff": 0, "connecting": 1, "stopping": 2, "stopped": 3}


def record_stats(conn: sa.Connection, process: str, health: Sequence[LinkHealth], at: int) -> None:
    """Replaces what `process` last reported of its links (no configuration version bump: not config)."""
    table = schema.connector_stats
    conn.execute(sa.delete(table).where(table.c.updated_at < at - _STATS_KEPT_SECONDS))
    conn.execute(sa.delete(table).where(table.c.process == process))
    if not health:
        return
    conn.execute(
        sa.insert(table),
        [
            {
                "name": h.name,
                "process": process,
                "state": h.state,
                "in_flight": h.in_flight,
                "sent": h.sent,
                "errors": h.errors,
                "reports": h.reports,
                "inbound": h.inbound,
                "updated_at": at,
                "since": h.since,
                "last_error": h.last_error[:_ERROR_WIDTH],
                "last_error_at": h.last_error_at,
                "binds": h.binds,
                "window": h.window,
                "submit_rate": h.submit_rate,
            }
            for h in health
        ],
    )


_SUMMED = ("in_flight", "sent", "errors", "reports", "inbound", "binds", "window")
_FIELDS = (*_SUMMED, "since", "last_error", "last_error_at")


def _reported(conn: sa.Connection) -> dict[str, list[Any]]:
    table = schema.connector_stats
    by_name: dict[str, list[Any]] = {}
    for row in conn.execute(sa.select(table).order_by(table.c.name, table.c.process)):
        by_name.setdefault(row.name, []).append(row)
    return by_name


def connector_stats(conn: sa.Connection, *, stale_after: int = LIVE_WITHIN) -> dict[str, dict[str, object]]:
    """Each link's health over the processes running it, as an operator reads it.

    - `state`: "bound" only when every process's link is; otherwise the state of those that are not
      that needs the operator most (backoff, connecting, stopping, stopped, in that order).
    - `since`: when the link came into that state as a whole. Bound: when the last process bound
      (the latest since). Not bound: when the first process went down (the earliest since among
      those not bound), so a link down in one process and then in another is down since the first.
    - `last_error`, `last_error_at`: the most recent error any process reported.
    - `in_flight`, `window`, `binds`, counters, `submit_rate`: summed, so in_flight of window is the
      link's load across processes.
    - `processes`: how many reported within `stale_after` seconds; `updated_at` the latest report.

    A link nobody reported within that time shows as "not running", with its last report.
    """
    current = now()
    found: dict[str, dict[str, object]] = {}
    for name, rows in _reported(conn).items():
        live = [r for r in rows if current - r.updated_at <= stale_after]
        if not live:
            last = max(rows, key=lambda r: r.updated_at)
            found[name] = {"state": NOT_RUNNING, **{c: getattr(last, c) for c in _FIELDS}}
            found[name] |= {"submit_rate": 0.0, "processes": 0, "updated_at": last.updated_at}
            continue
        found[name] = _merge(live)
    return found


def _merge(live: list[Any]) -> dict[str, object]:
    unbound = [r for r in live if r.state != BOUND]
    if unbound:
        state = min((r.state for r in unbound), key=lambda s: _STATE_RANK.get(s, -1))
        since = _least(r.since for r in unbound)
    else:
        state, since = BOUND, max((r.since for r in live if r.since is not None), default=None)
    errors = [r for r in live if r.last_error]
    last = max(errors, key=lambda r: r.last_error_at or 0, default=None)
    return {
        "state": state,
        "since": since,
        "last_error": last.last_error if last is not None else "",
        "last_error_at": last.last_error_at if last is not None else None,
        **{c: sum(getattr(r, c) for r in live) for c in _SUMMED},
        "submit_rate": round(sum(r.submit_rate for r in live), 2),
        "processes": len(live),
        "updated_at": max(r.updated_at for r in live),
    }


def _least(values: Iterable[int | None]) -> int | None:
    return min((v for v in values if v is not None), default=None)


def connector_stats_by_process(
    conn: sa.Connection, *, stale_after: int = LIVE_WITHIN
) -> dict[str, list[dict[str, object]]]:
    """Each link's rows as each process reported them, by link name and then process: the detail
    behind connector_stats. A row not renewed within `stale_after` seconds shows as "not running"."""
    current = now()
    found: dict[str, list[dict[str, object]]] = {}
    for name, rows in _reported(conn).items():
        found[name] = [
            {
                "process": r.process,
                "state": r.state if current - r.updated_at <= stale_after else NOT_RUNNING,
                **{c: getattr(r, c) for c in _FIELDS},
                "submit_rate": r.submit_rate,
                "updated_at": r.updated_at,
            }
            for r in rows
        ]
    return found


def live_processes(conn: sa.Connection, *, within: int = LIVE_WITHIN) -> dict[str, int]:
    """How many dispatch processes, on every node, run each link now (reported within `within` s):
    each paces at its equal share of the link's rate while the shared budget cannot be reached."""
    table = schema.connector_stats
    counted = (
        sa.select(table.c.name, sa.func.count())
        .where(table.c.updated_at >= now() - within)
        .group_by(table.c.name)
    )
    return {name: int(count) for name, count in conn.execute(counted)}


# -- links stopped by the operator (as Kannel's stop-smsc) ----------------------------------------------


def stopped_connectors(conn: sa.Connection) -> frozenset[str]:
    """The links the operator stopped: configured, but kept unbound until started again."""
    return frozenset(name for name in get_setting(conn, STOPPED_CONNECTORS).split(",") if name)


def set_stopped(conn: sa.Connection, name: str, stopped: bool) -> bool:
    """Stop (or start again) the link `name`, a configured connector or a built-in simulated one.

    Dispatch processes see the change at their next configuration refresh: a stopped link unbinds
    gracefully and its carriers' messages go to the next connector of their route. Returns whether
    anything changed; raises NotFound for a name that is neither configured nor built in.
    """
    known = conn.execute(sa.select(connectors.c.name).where(connectors.c.name == name)).first()
    if not known and name not in SIMULATED_LINKS:
        raise NotFound(f"connector {name}")
    current = stopped_connectors(conn)
    wanted = current | {name} if stopped else current - {name}
    if wanted == current:
        return False
    set_setting(conn, STOPPED_CONNECTORS, ",".join(sorted(wanted)))  # bumps the config version
    return True
