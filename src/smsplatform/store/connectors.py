"""Connectors (upstream links) and routes (carrier → ordered connectors), as the operator configured them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from smsplatform.store import schema
from smsplatform.store.clock import now
from smsplatform.store.errors import NotFound, StoreError
from smsplatform.store.schema import connectors, routes
from smsplatform.store.settings import bump_config_version


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


def _from_row(row: sa.Row[tuple[object, ...]]) -> ConnectorRow:
    m = row._mapping
    return ConnectorRow(
        name=m["name"],
        protocol=m["protocol"],
        host=m["host"],
        port=m["port"],
        system_id=m["system_id"],
        password=m["password"],
        window=m["window"],
        tps=m["tps"],
        source_number=m["source_number"],
        carriers=tuple(c for c in m["carriers"].split(",") if c),
        options=json.loads(m["options"] or "{}"),
    )


def add_connector(conn: sa.Connection, row: ConnectorRow) -> ConnectorRow:
    if conn.execute(sa.select(connectors.c.name).where(connectors.c.name == row.name)).first():
        raise ConnectorExists(row.name)
    conn.execute(
        sa.insert(connectors).values(
            name=row.name,
            protocol=row.protocol,
            host=row.host,
            port=row.port,
            system_id=row.system_id,
            password=row.password,
            window=row.window,
            tps=row.tps,
            source_number=row.source_number,
            carriers=",".join(row.carriers),
            options=json.dumps(dict(row.options), sort_keys=True),
            created_at=now(),
        )
    )
    bump_config_version(conn)
    return row


def list_connectors(conn: sa.Connection) -> list[ConnectorRow]:
    return [_from_row(r) for r in conn.execute(sa.select(connectors).order_by(connectors.c.name))]


def remove_connector(conn: sa.Connection, name: str) -> None:
    if not conn.execute(sa.delete(connectors).where(connectors.c.name == name)).rowcount:
        raise NotFound(f"connector {name}")
    conn.execute(sa.delete(routes).where(routes.c.connector == name))
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
    name: str
    state: str
    in_flight: int
    sent: int
    errors: int
    reports: int
    inbound: int


# A process's rows are dropped this long after its last report (it stopped, or died).
_STATS_KEPT_SECONDS = 3600


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
            }
            for h in health
        ],
    )


_COUNTERS = ("in_flight", "sent", "errors", "reports", "inbound")


def connector_stats(conn: sa.Connection, *, stale_after: int = 30) -> dict[str, dict[str, object]]:
    """Each link's health over the processes running it: counters summed, `state` bound only when every
    process's link is, `processes` how many reported within `stale_after` seconds. A link nobody
    reported within that time shows as not running, with its last report's counters."""
    current = now()
    by_name: dict[str, list[Any]] = {}
    for row in conn.execute(sa.select(schema.connector_stats).order_by(schema.connector_stats.c.process)):
        by_name.setdefault(row.name, []).append(row)
    found: dict[str, dict[str, object]] = {}
    for name, rows in by_name.items():
        live = [r for r in rows if current - r.updated_at <= stale_after]
        if not live:
            last = max(rows, key=lambda r: r.updated_at)
            found[name] = {"state": "not running", **{c: getattr(last, c) for c in _COUNTERS}}
            found[name] |= {"processes": 0, "updated_at": last.updated_at}
            continue
        unbound = [r.state for r in live if r.state != "bound"]
        found[name] = {
            "state": unbound[0] if unbound else "bound",
            **{c: sum(getattr(r, c) for r in live) for c in _COUNTERS},
            "processes": len(live),
            "updated_at": max(r.updated_at for r in live),
        }
    return found
