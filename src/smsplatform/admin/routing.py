"""Routing: extra number prefixes, numbers pinned to a carrier (携号转网), and the routes carrier →
connectors, shown as dispatch follows them (`domain/routes.py`), each entry with where it comes from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import audit, checks
from smsplatform.admin.actors import Actor, Permission
from smsplatform.domain.numbers import normalize_mobile
from smsplatform.domain.routes import SIMULATED_LINKS, effective_routes
from smsplatform.store import connectors, routing
from smsplatform.store.errors import NotFound


@dataclass(frozen=True, slots=True)
class PrefixInfo:
    prefix: str
    carrier: str


@dataclass(frozen=True, slots=True)
class PinInfo:
    mobile: str
    carrier: str


@dataclass(frozen=True, slots=True)
class RouteEntry:
    connector: str
    source: str  # "route" (the operator's), "declared" (the connector's carriers), "built-in default"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    carrier: str
    connectors: list[RouteEntry]  # in failover order; empty: the carrier's messages wait for a route


def _prefix(value: str) -> str:
    prefix = value.strip()
    if not (prefix.isascii() and prefix.isdigit() and 3 <= len(prefix) <= 7):
        raise ValueError(f"a prefix is 3 to 7 digits: {value!r}")
    return prefix


def _mobile(value: str) -> str:
    mobile = normalize_mobile(value)
    if mobile is None:
        raise ValueError(f"not a mainland mobile number: {value!r}")
    return mobile


def _set_carrier(
    conn: sa.Connection,
    actor: Actor,
    noun: str,
    key: str,
    carrier: str,
    before: str | None,
    write: Callable[[sa.Connection, str, str], object],
) -> None:
    """A prefix's or pin's carrier set (`noun`: prefix, pin), with the one before it in the log."""
    write(conn, key, carrier)
    audit.record(
        conn,
        actor,
        f"{noun}.set",
        f"{noun} {key}",
        before=None if before is None else {"carrier": before},
        after={"carrier": carrier},
    )


def _remove_carrier(
    conn: sa.Connection,
    actor: Actor,
    noun: str,
    key: str,
    before: str | None,
    remove: Callable[[sa.Connection, str], object],
) -> str:
    """Removes a prefix or pin; the carrier it had."""
    if before is None:
        raise NotFound(f"{noun} {key}")
    remove(conn, key)
    audit.record(conn, actor, f"{noun}.remove", f"{noun} {key}", before={"carrier": before})
    return before


# --- prefixes ------------------------------------------------------------------------------------


def list_prefixes(conn: sa.Connection, actor: Actor) -> list[PrefixInfo]:
    """The operator's prefixes (the built-in table of number segments is not listed)."""
    actor.require(Permission.VIEW)
    return [PrefixInfo(p, c) for p, c in sorted(routing.list_prefixes(conn).items())]


def set_prefix(conn: sa.Connection, actor: Actor, prefix: str, carrier: str) -> PrefixInfo:
    """Numbers starting with `prefix` belong to `carrier` (the longest prefix wins)."""
    actor.require(Permission.MANAGE)
    prefix, carrier = _prefix(prefix), checks.carrier(carrier)
    before = routing.list_prefixes(conn).get(prefix)
    _set_carrier(conn, actor, "prefix", prefix, carrier, before, routing.set_prefix)
    return PrefixInfo(prefix, carrier)


def remove_prefix(conn: sa.Connection, actor: Actor, prefix: str) -> PrefixInfo:
    actor.require(Permission.MANAGE)
    prefix = prefix.strip()
    before = routing.list_prefixes(conn).get(prefix)
    return PrefixInfo(prefix, _remove_carrier(conn, actor, "prefix", prefix, before, routing.remove_prefix))


# --- pins ----------------------------------------------------------------------------------------


def list_pins(conn: sa.Connection, actor: Actor) -> list[PinInfo]:
    actor.require(Permission.VIEW)
    return [PinInfo(m, c) for m, c in routing.list_pins(conn).items()]


def set_pin(conn: sa.Connection, actor: Actor, mobile: str, carrier: str) -> PinInfo:
    """`mobile` moved to `carrier`: its messages go there whatever its prefix says."""
    actor.require(Permission.MANAGE)
    mobile, carrier = _mobile(mobile), checks.carrier(carrier)
    before = routing.pins_for(conn, [mobile]).get(mobile)
    _set_carrier(conn, actor, "pin", mobile, carrier, before, routing.set_pin)
    return PinInfo(mobile, carrier)


def remove_pin(conn: sa.Connection, actor: Actor, mobile: str) -> PinInfo:
    actor.require(Permission.MANAGE)
    mobile = normalize_mobile(mobile) or mobile.strip()
    before = routing.pins_for(conn, [mobile]).get(mobile)
    return PinInfo(mobile, _remove_carrier(conn, actor, "pin", mobile, before, routing.remove_pin))


# --- routes --------------------------------------------------------------------------------------


def effective(conn: sa.Connection, simulators_on: bool) -> dict[str, list[RouteEntry]]:
    """carrier → its connectors as dispatch picks them (no permission check: callers made theirs)."""
    carriers = {row.name: row.carriers for row in connectors.list_connectors(conn)}
    found = effective_routes(connectors.list_routes(conn), carriers, simulators_on)
    return {
        carrier: [RouteEntry(name, source) for name, source in entries] for carrier, entries in found.items()
    }


def list_routes(conn: sa.Connection, actor: Actor, *, simulators_on: bool = True) -> list[RouteInfo]:
    """Every carrier's connectors as dispatch picks them, `simulators_on` as the platform runs."""
    actor.require(Permission.VIEW)
    return [RouteInfo(carrier, entries) for carrier, entries in effective(conn, simulators_on).items()]


def set_route(
    conn: sa.Connection, actor: Actor, carrier: str, names: Sequence[str], *, simulators_on: bool = True
) -> RouteInfo:
    """The carrier's connectors in failover order, the first preferred; none: the operator's route is
    removed and the carrier goes to the connectors that declare it, or the built-in default."""
    actor.require(Permission.MANAGE)
    carrier = checks.carrier(carrier)
    wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    before = connectors.list_routes(conn).get(carrier, [])
    builtin = sorted(SIMULATED_LINKS) if simulators_on else []
    connectors.set_route(conn, carrier, wanted, builtin=builtin)
    audit.record(
        conn,
        actor,
        "route.set" if wanted else "route.clear",
        f"route {carrier}",
        before={"connectors": before},
        after={"connectors": wanted},
    )
    return RouteInfo(carrier, effective(conn, simulators_on).get(carrier, []))
