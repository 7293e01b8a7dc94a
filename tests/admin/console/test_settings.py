"""Settings in the console: the effective configuration with secrets masked, and the platform switches."""

from __future__ import annotations

from pathlib import Path

import httpx

from smsplatform.admin import platform
from smsplatform.admin.console import create_console
from smsplatform.admin.context import AdminContext
from smsplatform.config import Settings
from smsplatform.store.database import Database
from tests.admin.console.conftest import ADMIN, ROOT, Browser


async def test_settings_show_their_values_and_mask_secrets(
    db: Database, tmp_path: Path, admin: Browser
) -> None:
    del admin  # the operators exist
    settings = Settings(data_dir=tmp_path, admin_secret="s3cret-signing-key", auto_approve=True)
    app = create_console(AdminContext(settings=settings, db=db, secret_key="test-key"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c.test") as client:
        browser = Browser(client)
        await browser.login(ADMIN)
        page = await browser.get("/settings")
    assert page.status_code == 200
    assert "s3cret-signing-key" not in page.text and "******" in page.text
    assert "<code>auto_approve</code>" in page.text


async def test_maintenance_and_endpoints_are_switched(admin: Browser, db: Database) -> None:
    await admin.get("/settings")
    assert (await admin.post("/settings/maintenance", {"on": "1"})).status_code == 303
    assert (await admin.post("/settings/endpoint", {"endpoint": "send", "enabled": "0"})).status_code == 303
    with db.engine.begin() as conn:
        state = platform.platform_state(conn, ROOT)
    assert state.maintenance and state.disabled_endpoints == ["send"]
    bad = await admin.post("/settings/endpoint", {"endpoint": "nothing", "enabled": "0"})
    assert bad.status_code == 400
