"""The operator's routing data: extra carrier prefixes and numbers pinned to a carrier (携号转网)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from smsplatform.store.driver import chunks, execute_for_ids
from smsplatform.store.schema import carrier_prefixes, number_pins
from smsplatform.store.settings import bump_config_version


def list_prefixes(conn: sa.Connection) -> dict[str, str]:
    return {r.prefix: r.carrier for r in conn.execute(sa.select(carrier_prefixes))}


def set_prefix(conn: sa.Connection, prefix: str, carrier: str) -> None:
    conn.execute(sa.delete(carrier_prefixes).where(carrier_prefixes.c.prefix == prefix))
    conn.execute(sa.insert(carrier_prefixes).values(prefix=prefix, carrier=carrier))
    bump_config_version(conn)


def remove_prefix(conn: sa.Connection, prefix: str) -> int:
    removed = conn.execute(sa.delete(carrier_prefixes).where(carrier_prefixes.c.prefix == prefix)).rowcount
    bump_config_version(conn)
    return int(removed)


def list_pins(conn: sa.Connection) -> dict[str, str]:
    return {r.mobile: r.carrier for r in conn.execute(sa.select(number_pins).order_by(number_pins.c.mobile))}


# On the driver, padded to a few lengths (see execute_for_ids): SQLAlchemy would render an expanding IN
# list, and SQLite prepare a statement, for every group of acceptances.
_PINS = f"SELECT mobile, carrier FROM {number_pins.name} WHERE mobile IN ({{ids}})"


def pins_for(conn: sa.Connection, mobiles: Iterable[str]) -> dict[str, str]:
    """The pinned carrier of each of `mobiles` that has one (on the send hot path: one prepared query)."""
    wanted = sorted(set(mobiles))
    found: dict[str, str] = {}
    for chunk in chunks(wanted):
        found.update((mobile, carrier) for mobile, carrier in execute_for_ids(conn, _PINS, chunk))
    return found


def set_pin(conn: sa.Connection, mobile: str, carrier: str) -> None:
    conn.execute(sa.delete(number_pins).where(number_pins.c.mobile == mobile))
    conn.execute(sa.insert(number_pins).values(mobile=mobile, carrier=carrier))


def remove_pin(conn: sa.Connection, mobile: str) -> int:
    return int(conn.execute(sa.delete(number_pins).where(number_pins.c.mobile == mobile)).rowcount)
