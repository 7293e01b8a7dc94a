"""A console app on each backend, two operators (an admin and a reviewer), and a browser-like client
that keeps cookies and sends each form's CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from smsplatform.admin import auth
from smsplatform.admin.actors import Role, cli_actor
from smsplatform.admin.console import create_console
from smsplatform.admin.context import AdminContext
from smsplatform.config import Settings
from smsplatform.store.database import Database

PASSWORD = "correct horse battery"
ADMIN, REVIEWER = "ada", "rita"
ROOT = cli_actor("root")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def console(db: Database, tmp_path: Path) -> Starlette:
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, ADMIN, Role.ADMIN, PASSWORD)
        auth.create_operator(conn, ROOT, REVIEWER, Role.REVIEWER, PASSWORD)
    return create_console(AdminContext(settings=Settings(data_dir=tmp_path), db=db, secret_key="test-key"))


class Browser:
    """An operator's browser: cookies kept, redirects not followed (tests look at them), each page's
    CSRF token remembered for the next form."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> httpx.Response:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf", self.csrf)
        return await self.client.post(path, data=form, **kwargs)

    async def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/login")
        return await self.post("/login", {"name": name, "password": password})


@pytest.fixture
async def browser(console: Starlette) -> AsyncIterator[Browser]:
    transport = httpx.ASGITransport(app=console)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
        yield Browser(client)


@pytest.fixture
async def admin(browser: Browser) -> Browser:
    assert (await browser.login(ADMIN)).status_code == 303
    return browser


@pytest.fixture
async def reviewer(browser: Browser) -> Browser:
    assert (await browser.login(REVIEWER)).status_code == 303
    return browser
