"""Every page renders for both roles and both languages; a reviewer sees no change control and the
server refuses its changes anyway (both backends)."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette

from smsplatform.admin import audit
from smsplatform.admin.console.site import NAV
from smsplatform.store.database import Database
from tests.admin.console.conftest import ADMIN, REVIEWER, ROOT, Browser, World
from tests.admin.console.test_csrf import post_paths

LANGUAGES = {"en": "en-US,en;q=0.9", "zh": "zh-CN,zh;q=0.9"}
# A catalogue key shown as such: a text missing from the catalogue.
RAW_KEY = re.compile(
    r">[^<]*\b(?:nav|common|error|status|kind|state|review|customers?|account|messages?|words|settings|audit|"
    r"event|finding|field|carrier|link|source|outcome|callback|login|app|role|via|lang)\.[a-z_]+\b"
)
POST_FORM = re.compile(r"<form\b[^>]*\bmethod=\"post\"[^>]*>", re.IGNORECASE)
ACTION = re.compile(r'\b(?:action|hx-post)="([^"]+)"')
# What a reviewer may post: its decisions and its own logout.
REVIEWER_POSTS = re.compile(r"^/(?:logout|review/.*)$")


# Pieces of pages that htmx swaps in.
FRAGMENTS = ("/dashboard/charts?window=1h", "/connectors?part=status")


def pages(world: World) -> list[str]:
    return [
        "/",
        "/review",
        "/customers",
        "/customers/1",
        "/accounts/11",
        "/accounts/12",
        "/messages",
        "/messages?mobile=13800138000&state=delivered",
        f"/messages/{world.message}",
        "/?window=1h",
        "/?window=30d",
        "/callbacks",
        "/replies",
        "/replies?mobile=13800138000&text=TD",
        "/replies/optouts",
        "/connectors",
        "/connectors/sim-cmpp",
        "/words",
        "/words?q=赌",
        "/settings",
        "/audit",
        "/audit?operator=ada&action=customer",
    ]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("who", [ADMIN, REVIEWER])
async def test_every_page_renders_for_each_role_in_each_language(
    browser: Browser, world: World, who: str, lang: str
) -> None:
    browser.client.headers["Accept-Language"] = LANGUAGES[lang]
    await browser.login(who)
    for path in pages(world):
        page = await browser.get(path)
        assert page.status_code == 200, (path, page.text[:2000])
        html = page.text
        assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in html, path
        for href, _ in NAV:
            assert f'href="{href}"' in html, (path, href)
        assert not RAW_KEY.search(html), (path, RAW_KEY.search(html))
        if who == REVIEWER:
            posts = [ACTION.search(form) for form in POST_FORM.findall(html)]
            actions = [found.group(1) for found in posts if found]
            assert all(REVIEWER_POSTS.match(a) for a in actions), (path, actions)
    for path in FRAGMENTS:
        fragment = await browser.get(path, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text, path
        assert not RAW_KEY.search(fragment.text), (path, RAW_KEY.search(fragment.text))
    if lang == "zh":
        assert "短信记录" in (await browser.get("/")).text


async def test_the_language_switch_wins_over_the_browser(admin: Browser) -> None:
    admin.client.headers["Accept-Language"] = "en-US"
    switched = await admin.get("/lang/zh?next=/customers")
    assert switched.status_code == 303 and switched.headers["location"] == "/customers"
    assert '<html lang="zh-CN">' in (await admin.get("/customers")).text
    await admin.get("/lang/en?next=https://evil.example/")
    assert '<html lang="en">' in (await admin.get("/")).text


async def test_a_reviewer_changing_anything_but_reviews_is_refused(
    reviewer: Browser, console: Starlette, world: World, db: Database
) -> None:
    await reviewer.get("/")
    refused = [p for p in post_paths(console) if not REVIEWER_POSTS.match(p) and p != "/login"]
    assert "/customers/1/disable" in refused
    for path in refused:
        answer = await reviewer.post(path, {"amount": "5", "name": "x", "totalnum": "5", "word": "赌博"})
        assert answer.status_code == 403, path
    with db.engine.begin() as conn:
        assert all(e.operator != REVIEWER for e in audit.list_audit(conn, ROOT))


async def test_unknown_pages_and_ids_answer_404_with_a_readable_page(admin: Browser, world: World) -> None:
    for path in ("/no-such-page", "/customers/999", "/accounts/999", "/messages/999999"):
        answer = await admin.get(path)
        assert answer.status_code == 404, path
        assert "<html" in answer.text and "Traceback" not in answer.text


async def test_bad_input_answers_400_with_what_was_wrong(admin: Browser, world: World) -> None:
    answer = await admin.get("/messages?since=yesterday")
    assert answer.status_code == 400 and "yesterday" in answer.text
    answer = await admin.get("/messages?state=lost")
    assert answer.status_code == 400 and "lost" in answer.text
