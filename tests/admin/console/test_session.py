"""Logging in and out: signed HttpOnly SameSite cookies, sessions that end, and a disabled operator
shut out at once (both backends)."""

from __future__ import annotations

import time

import pytest

from smsplatform.admin import auth
from smsplatform.admin.console import session
from smsplatform.store.database import Database
from tests.admin.console.conftest import ADMIN, PASSWORD, ROOT, Browser


async def test_pages_send_an_anonymous_visitor_to_the_login_page(browser: Browser) -> None:
    answer = await browser.get("/audit?operator=x")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/audit%3Foperator%3Dx"
    assert (await browser.get("/login")).status_code == 200


async def test_an_operator_logs_in_and_lands_where_it_was_going(browser: Browser) -> None:
    await browser.get("/login")
    answer = await browser.post("/login", {"name": ADMIN, "password": PASSWORD, "next": "/audit"})
    assert answer.status_code == 303 and answer.headers["location"] == "/audit"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(session.COOKIE + "=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = await browser.get("/audit")
    assert page.status_code == 200 and ADMIN in page.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "audit"])
async def test_the_login_never_sends_anyone_to_another_site(browser: Browser, target: str) -> None:
    await browser.get("/login")
    answer = await browser.post("/login", {"name": ADMIN, "password": PASSWORD, "next": target})
    assert answer.headers["location"] == "/"


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(browser: Browser) -> None:
    await browser.get("/login")
    wrong = await browser.post("/login", {"name": ADMIN, "password": "not the password"})
    unknown = await browser.post("/login", {"name": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace(ADMIN, "NAME") == unknown.text.replace("nobody", "NAME")
    assert (await browser.get("/")).status_code == 303


async def test_logging_out_ends_the_session(admin: Browser) -> None:
    await admin.get("/")
    answer = await admin.post("/logout")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert (await admin.get("/")).status_code == 303


async def test_a_copied_cookie_stops_working_when_it_is_tampered_with(admin: Browser) -> None:
    value = admin.client.cookies[session.COOKIE]
    admin.client.cookies.set(session.COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert (await admin.get("/")).status_code == 303


async def test_a_disabled_operator_is_logged_out_on_its_next_request(admin: Browser, db: Database) -> None:
    assert (await admin.get("/")).status_code == 200
    with db.engine.begin() as conn:
        auth.set_operator(conn, ROOT, ADMIN, enabled=False)
    assert (await admin.get("/")).status_code == 303


async def test_a_session_ends_after_its_lifetime(admin: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await admin.get("/")).status_code == 200
    later = time.time() + session.IDLE_SECONDS + 60
    monkeypatch.setattr(session.time, "time", lambda: later)
    assert (await admin.get("/")).status_code == 303


async def test_a_post_of_an_ended_session_changes_nothing(
    admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    await admin.get("/customers/1")
    later = time.time() + session.IDLE_SECONDS + 60  # idle too long; the cookie itself still valid
    monkeypatch.setattr(session.time, "time", lambda: later)
    answer = await admin.post("/customers/1/disable")
    assert answer.status_code == 401 and 'href="/login"' in answer.text


async def test_an_anonymous_post_is_refused_for_its_missing_token(browser: Browser) -> None:
    answer = await browser.client.post("/logout")
    assert answer.status_code == 403
