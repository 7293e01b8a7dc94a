"""/platform and /settings: maintenance, the customer API's endpoint switches, the effective settings."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.admin import platform
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.api.endpoint import Endpoint, the_settings
from smsplatform.admin.platform import SettingValue
from smsplatform.config import Settings


def effective_settings(conn: sa.Connection, actor: Actor, settings: Settings) -> list[SettingValue]:
    """Every setting as the admin listener's process runs with it, where it came from, secrets masked."""
    actor.require(Permission.VIEW)
    return platform.effective_settings(settings)


ENDPOINTS = [
    Endpoint("GET", "/platform", platform.platform_state, "Maintenance and the endpoints turned off"),
    Endpoint(
        "PUT",
        "/platform/maintenance",
        platform.set_maintenance,
        "Turn maintenance on (every customer API call answers 107) or off",
        params={"on": "true: maintenance on"},
    ),
    Endpoint(
        "PUT",
        "/platform/endpoints/{endpoint}",
        platform.set_endpoint_enabled,
        "Turn one of the customer API's endpoints off (it answers 108) or on",
        params={"endpoint": "The endpoint's name, e.g. send", "enabled": "false: the endpoint answers 108"},
    ),
    Endpoint("GET", "/settings", effective_settings, supplied={"settings": the_settings}),
]
