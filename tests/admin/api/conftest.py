"""The admin listener in-process over a fresh database (both backends), with an admin's and a
reviewer's API tokens, talked to through httpx's ASGI transport as a script would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from smsplatform.admin import auth
from smsplatform.admin.actors import Role, cli_actor
from smsplatform.admin.app import create_admin_app
from smsplatform.admin.context import AdminContext
from smsplatform.config import Settings
from smsplatform.store.database import Database

ROOT = cli_actor("root")
PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Mgmt:
    """The management API as an admin (`client`) and as a reviewer (`reviewer`) call it."""

    db: Database
    client: httpx.AsyncClient
    reviewer: httpx.AsyncClient
    anonymous: httpx.AsyncClient
    admin_token: str
    reviewer_token: str

    async def ok(self, method: str, path: str, *, as_reviewer: bool = False, **kwargs: Any) -> Any:
        """The decoded answer of a call that must succeed."""
        client = self.reviewer if as_reviewer else self.client
        response = await client.request(method, path, **kwargs)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


def operator_tokens(db: Database) -> tuple[str, str]:
    """An admin `alice` and a reviewer `rita`, with one token each."""
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "alice", Role.ADMIN, PASSWORD)
        auth.create_operator(conn, ROOT, "rita", Role.REVIEWER, PASSWORD)
        _, admin = auth.create_token(conn, ROOT, "alice", "tests")
        _, reviewer = auth.create_token(conn, ROOT, "rita", "tests")
    return admin, reviewer


def admin_app(db: Database) -> Any:
    """The whole admin listener (console, API, metrics), as `serve` runs it."""
    return create_admin_app(AdminContext(settings=Settings(), db=db, secret_key="test-key"))


@pytest.fixture
async def mgmt(db: Database) -> AsyncIterator[Mgmt]:
    admin, reviewer = operator_tokens(db)
    transport = httpx.ASGITransport(app=admin_app(db))
    base = "http://admin.test/admin/api"
    async with (
        httpx.AsyncClient(transport=transport, base_url=base, headers=bearer(admin)) as client,
        httpx.AsyncClient(transport=transport, base_url=base, headers=bearer(reviewer)) as as_reviewer,
        httpx.AsyncClient(transport=transport, base_url=base) as anonymous,
    ):
        yield Mgmt(db, client, as_reviewer, anonymous, admin, reviewer)
