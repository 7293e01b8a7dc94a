"""Platform switches and the effective settings, secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsplatform.admin import audit, platform
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.api.app import ENDPOINTS
from smsplatform.config import Settings
from smsplatform.store import settings as switches
from smsplatform.store.database import Database

ROOT = cli_actor("root")


def test_the_switchable_endpoints_are_the_apis() -> None:
    assert sorted(platform.API_ENDPOINTS) == sorted(ENDPOINTS)


def test_maintenance_and_endpoint_switches_are_audited(db: Database) -> None:
    with db.engine.begin() as conn:
        version = platform.platform_state(conn, ROOT).config_version
        assert platform.set_maintenance(conn, ROOT, True).maintenance is True
        assert switches.get_setting(conn, switches.MAINTENANCE) == "1"
        assert platform.set_maintenance(conn, ROOT, False).maintenance is False
        assert platform.set_endpoint_enabled(conn, ROOT, "send", False).disabled_endpoints == ["send"]
        state = platform.set_endpoint_enabled(conn, ROOT, "Balance", False)
        assert state.disabled_endpoints == ["balance", "send"] and state.config_version > version
        assert platform.set_endpoint_enabled(conn, ROOT, "send", True).disabled_endpoints == ["balance"]
        assert switches.get_setting(conn, switches.DISABLED_ENDPOINTS) == "balance"
        with pytest.raises(ValueError, match="unknown endpoint"):
            platform.set_endpoint_enabled(conn, ROOT, "nosuch", False)
        with pytest.raises(Forbidden):
            platform.set_maintenance(conn, Actor("rita", Role.REVIEWER, Via.CONSOLE), True)
        entries = [(e.action, e.target) for e in reversed(audit.list_audit(conn, ROOT))]
    assert entries == [
        ("platform.maintenance_on", "platform"),
        ("platform.maintenance_off", "platform"),
        ("platform.endpoint_disable", "endpoint send"),
        ("platform.endpoint_disable", "endpoint balance"),
        ("platform.endpoint_enable", "endpoint send"),
    ]


def test_effective_settings_mask_secrets_and_say_where_they_came_from() -> None:
    settings = Settings(
        data_dir=Path("/srv/sms"),
        database_url="postgresql://sms:hunter2@db.internal/sms",
        admin_secret="s3cret",
        auto_approve=True,
    )
    shown = {s.name: s for s in platform.effective_settings(settings, {"SMSPLATFORM_AUTO_APPROVE": "1"})}
    assert "hunter2" not in shown["database_url"].value and "db.internal/sms" in shown["database_url"].value
    assert shown["admin_secret"].value == "******"
    assert (shown["auto_approve"].value, shown["auto_approve"].source) == ("on", "environment")
    assert (shown["data_dir"].value, shown["data_dir"].source) == ("/srv/sms", "configured")
    assert (shown["port"].value, shown["port"].source) == ("8080", "default")
    assert shown["callback_allow_private"].value == "off"
    assert platform.effective_settings(Settings(), {})[0].source == "default"
