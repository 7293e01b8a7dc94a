"""A console app on each backend, two operators (an admin and a reviewer), and a browser-like client
that keeps cookies and sends each form's CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from smsplatform.admin import auth
from smsplatform.admin.actors import Role, cli_actor
from smsplatform.admin.console import create_console
from smsplatform.admin.context import AdminContext
from smsplatform.config import Settings
from smsplatform.store import templates as template_store
from smsplatform.store import words as words_store
from smsplatform.store.database import Database
from smsplatform.store.schema import accounts as accounts_table
from smsplatform.store.schema import callback_errors, message_parts
from smsplatform.store.schema import callbacks as callbacks_table
from smsplatform.store.schema import customers as customers_table
from smsplatform.store.templates import TemplateDraft
from tests.store.test_search import T0, add_message, fix_sequence, seed

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


@dataclass(frozen=True)
class World:
    """What the pages show: customers Acme (1: sub-accounts 11 approved, 12 pending) and Globex (2: 21
    pending); a pending template and an approved one of 11; a delivered message of 11 with its
    segment, a refused callback and its acknowledged retry; two sensitive words."""

    pending_template: int
    approved_template: int
    message: int


@pytest.fixture
def world(console: Starlette, db: Database) -> World:
    with db.engine.begin() as conn:
        seed(conn)
        for table in (customers_table, accounts_table):
            fix_sequence(conn, table)
        conn.execute(sa.update(accounts_table).where(accounts_table.c.id == 11).values(status=1))
        pending = template_store.create_template(
            conn, 11, TemplateDraft("code", "您的验证码是@，5分钟内有效", 0, "verification", 0, "")
        )
        approved = template_store.create_template(
            conn, 11, TemplateDraft("notice", "您的订单@已发货", 0, "notification", 1, "")
        )
        message = add_message(
            conn, mobile="13800138000", state="delivered", stat="DELIVRD", submitted_at=T0 + 1, done_at=T0 + 3
        )
        conn.execute(
            sa.insert(message_parts).values(
                message_id=message, part=1, connector="smsc-1", remote_id="R-0001", stat="DELIVRD"
            )
        )
        callback = conn.execute(
            sa.insert(callbacks_table)
            .values(
                account_id=11,
                kind="report",
                payload='{"msgid": "1"}',
                state="done",
                attempts=2,
                next_attempt_at=T0 + 4,
                created_at=T0 + 3,
                done_at=T0 + 15,
                message_id=message,
            )
            .returning(callbacks_table.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(callback_errors).values(
                callback_id=callback, attempt=1, error="HTTP 503 from hooks.acme.example", at=T0 + 4
            )
        )
        words_store.add_words(conn, ["赌博", "代开发票"])
    return World(pending.id, approved.id, message)
