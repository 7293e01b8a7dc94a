"""Platform switches (maintenance, endpoints turned off) and the effective settings, secrets masked."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from smsplatform.admin import audit
from smsplatform.admin.actors import Actor, Permission
from smsplatform.config import ENV_PREFIX, Settings
from smsplatform.store import settings as switches

# The customer API's endpoints that the operator can turn off (108); the API's own table is the
# authority, and a test holds the two equal.
API_ENDPOINTS = (
    "send",
    "balance",
    "blackword",
    "addaccount",
    "editaccount",
    "accountlist",
    "addtemplate",
    "edittemplate",
    "templatelist",
    "templatedetail",
    "status",
    "reply",
)
TARGET = "platform"
# Settings whose value is a secret, or may hold one (a password in a database URL).
SECRET_SETTINGS = frozenset({"admin_secret", "secret_key"})


@dataclass(frozen=True, slots=True)
class PlatformState:
    maintenance: bool  # every endpoint answers 107
    disabled_endpoints: list[str]  # each answers 108
    config_version: int  # moves with every configuration change; processes poll it


@dataclass(frozen=True, slots=True)
class SettingValue:
    name: str
    value: str
    source: str  # "default", "environment" (SMSPLATFORM_…), or "configured" (the file or a flag)


def _state(conn: sa.Connection) -> PlatformState:
    disabled = switches.get_setting(conn, switches.DISABLED_ENDPOINTS).split(",")
    return PlatformState(
        maintenance=switches.get_setting(conn, switches.MAINTENANCE) == "1",
        disabled_endpoints=sorted(e for e in disabled if e),
        config_version=switches.config_version(conn),
    )


def _record(state: PlatformState) -> dict[str, object]:
    return {"maintenance": state.maintenance, "disabled_endpoints": state.disabled_endpoints}


def platform_state(conn: sa.Connection, actor: Actor) -> PlatformState:
    actor.require(Permission.VIEW)
    return _state(conn)


def set_maintenance(conn: sa.Connection, actor: Actor, on: bool) -> PlatformState:
    actor.require(Permission.MANAGE)
    before = _state(conn)
    switches.set_setting(conn, switches.MAINTENANCE, "1" if on else "0")
    after = _state(conn)
    action = "platform.maintenance_on" if on else "platform.maintenance_off"
    audit.record(conn, actor, action, TARGET, before=_record(before), after=_record(after))
    return after


def set_endpoint_enabled(conn: sa.Connection, actor: Actor, endpoint: str, enabled: bool) -> PlatformState:
    actor.require(Permission.MANAGE)
    endpoint = endpoint.strip().lower()
    if endpoint not in API_ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; one of: {', '.join(API_ENDPOINTS)}")
    before = _state(conn)
    disabled = set(before.disabled_endpoints)
    disabled = disabled - {endpoint} if enabled else disabled | {endpoint}
    switches.set_setting(conn, switches.DISABLED_ENDPOINTS, ",".join(sorted(disabled)))
    after = _state(conn)
    action = "platform.endpoint_enable" if enabled else "platform.endpoint_disable"
    audit.record(conn, actor, action, f"endpoint {endpoint}", before=_record(before), after=_record(after))
    return after


def _shown(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Path):
        return str(value)
    text = str(value)
    if name in SECRET_SETTINGS:
        return audit.MASK if text else ""
    if name == "database_url" and text:
        try:
            url = sa.make_url(text)
        except sa.exc.ArgumentError:
            return audit.MASK  # not a URL: show nothing that might be a secret
        return url.render_as_string(hide_password=True)
    return text


def effective_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> list[SettingValue]:
    """Every setting as this process runs with it, where it came from, secrets masked."""
    environ = os.environ if environ is None else environ
    defaults = Settings()
    listed = []
    for field in dataclasses.fields(Settings):
        value = getattr(settings, field.name)
        if ENV_PREFIX + field.name.upper() in environ:
            source = "environment"
        elif value != getattr(defaults, field.name):
            source = "configured"
        else:
            source = "default"
        listed.append(SettingValue(field.name, _shown(field.name, value), source))
    return listed
