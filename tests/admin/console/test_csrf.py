"""Every form carries its session's CSRF token; a POST without it, or with another session's, is
refused with 403 and changes nothing (both backends)."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from smsplatform.admin import audit
from smsplatform.store.database import Database
from tests.admin.console.conftest import ADMIN, PASSWORD, ROOT, Browser


def post_paths(app: Starlette) -> list[str]:
    """Every path the console takes a POST on, with 1 for each path parameter."""
    return sorted(
        re.sub(r"\{[^}]+\}", "1", route.path)
        for route in app.routes
        if isinstance(route, Route) and route.methods and "POST" in route.methods
    )


async def test_every_post_without_the_token_is_refused_and_changes_nothing(
    admin: Browser, console: Starlette, db: Database
) -> None:
    await admin.get("/")
    paths = post_paths(console)
    assert "/login" in paths and "/logout" in paths
    for path in paths:
        missing = await admin.post(path, {"name": "x", "reason": "x", "words": "x"}, csrf=False)
        assert missing.status_code == 403, path
        forged = await admin.post(path, {"csrf": "forged"})
        assert forged.status_code == 403, path
        by_header = await admin.client.post(path, headers={"X-CSRF-Token": "forged", "HX-Request": "true"})
        assert by_header.status_code == 403, path
    with db.engine.begin() as conn:
        assert [e.action for e in audit.list_audit(conn, ROOT)] == ["operator.create", "operator.create"]
    assert (await admin.get("/")).status_code == 200  # still logged in: the logout was refused too


async def test_htmx_sends_the_token_as_a_header(admin: Browser) -> None:
    page = await admin.get("/")
    assert f'"X-CSRF-Token": "{admin.csrf}"' in page.text.replace("&#34;", '"')
    answer = await admin.client.post("/logout", headers={"X-CSRF-Token": admin.csrf, "HX-Request": "true"})
    assert answer.status_code == 204 or answer.status_code == 303


async def test_a_token_from_another_session_does_not_work(console: Starlette, browser: Browser) -> None:
    await browser.get("/login")
    stolen = browser.csrf
    browser.client.cookies.clear()
    await browser.get("/login")
    assert browser.csrf != stolen
    answer = await browser.post("/login", {"name": ADMIN, "password": PASSWORD, "csrf": stolen})
    assert answer.status_code == 403


@pytest.mark.parametrize("token", ["", " "])
async def test_a_login_without_a_session_is_refused(browser: Browser, token: str) -> None:
    answer = await browser.client.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf": token})
    assert answer.status_code == 403
