"""Platform switches kept in the database, and the configuration version every process polls.

Every repository function that changes configuration (customers, sub-accounts, templates, words,
routing) calls `bump_config_version` in the same transaction; processes compare the version to the one
their cache was built from, so an operator's change made with the CLI reaches a running server within
`config_poll_seconds`.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smsplatform.store.schema import settings

CONFIG_VERSION = "config_version"
MAINTENANCE = "maintenance"  # "1": every endpoint answers 107
DISABLED_ENDPOINTS = "disabled_endpoints"  # comma-separated endpoint names answering 108
PLATFORM_ID = "platform_id"


def get_setting(conn: sa.Connection, key: str, default: str = "") -> str:
    value = conn.execute(sa.select(settings.c.value).where(settings.c.key == key)).scalar()
    return default if value is None else str(value)


def all_settings(conn: sa.Connection) -> dict[str, str]:
    return {row.key: row.value for row in conn.execute(sa.select(settings.c.key, settings.c.value))}


def set_setting(conn: sa.Connection, key: str, value: str) -> None:
    updated = conn.execute(sa.update(settings).where(settings.c.key == key).values(value=value)).rowcount
    if not updated:
        conn.execute(sa.insert(settings).values(key=key, value=value))
    if key != CONFIG_VERSION:
        bump_config_version(conn)


def bump_config_version(conn: sa.Connection) -> None:
    updated = conn.execute(
        sa.update(settings)
        .where(settings.c.key == CONFIG_VERSION)
        .values(value=sa.cast(sa.cast(settings.c.value, sa.BigInteger) + 1, sa.Text))
    ).rowcount
    if not updated:
        conn.execute(sa.insert(settings).values(key=CONFIG_VERSION, value="1"))


def platform_id(conn: sa.Connection) -> str:
    """This platform's random id, made by the first process that asks: it names the platform's keys in
    a shared Redis, so that two platforms sharing one never count each other's traffic."""
    found = get_setting(conn, PLATFORM_ID)
    if found:
        return found
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(settings).values(key=PLATFORM_ID, value=secrets.token_hex(8)).on_conflict_do_nothing()
    )
    return get_setting(conn, PLATFORM_ID)


def config_version(conn: sa.Connection) -> int:
    return int(get_setting(conn, CONFIG_VERSION, "0"))
