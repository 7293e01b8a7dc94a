"""Messages in the console: a search by number, its message's page with the whole story, paging by
"older" links, CSV export (both backends)."""

from __future__ import annotations

import csv
import io
import time

from smsplatform.store.database import Database
from smsplatform.store.retention import record_retention
from tests.admin.console.conftest import Browser, World
from tests.store.test_search import T0, add_message


async def test_a_message_is_found_by_number_and_its_page_tells_its_story(
    admin: Browser, world: World
) -> None:
    page = await admin.get("/messages?mobile=%2B8613800138000")
    assert page.status_code == 200
    assert f'href="/messages/{world.message}"' in page.text and "Acme" in page.text
    story = await admin.get(f"/messages/{world.message}")
    text = story.text
    assert story.status_code == 200
    assert '<code id="stat">DELIVRD</code>' in text
    assert "R-0001" in text and "smsc-1" in text  # the carrier's id and the connector
    assert "HTTP 503 from hooks.acme.example" in text  # the receiver's answer
    assert text.index("Accepted") < text.index("Submitted to the carrier") < text.index("Report delivered")


async def test_results_page_on_with_older_links(admin: Browser, world: World, db: Database) -> None:
    with db.engine.begin() as conn:
        for n in range(55):
            add_message(conn, mobile="13900139000", created_at=T0 + 10 + n)
    first = await admin.get("/messages?mobile=13900139000")
    assert first.text.count('<a href="/messages/') == 50
    assert 'id="older"' in first.text
    older_href = first.text.split('id="older"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = await admin.get(older_href)
    assert second.text.count('<a href="/messages/') == 5 and 'id="older"' not in second.text


async def test_a_search_is_exported_as_csv(admin: Browser, world: World) -> None:
    answer = await admin.get("/messages.csv?mobile=13800138000")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text.removeprefix("\ufeff"))))
    assert [r["id"] for r in rows] == [str(world.message)]
    assert rows[0]["customer"] == "Acme" and rows[0]["stat"] == "DELIVRD"
    refused = await admin.get("/messages.csv?carrier=martian")
    assert refused.status_code == 400


async def test_the_search_says_how_far_back_messages_are_kept(
    admin: Browser, world: World, db: Database
) -> None:
    page = await admin.get("/messages")
    assert 'id="message-reach"' not in page.text  # no round has run: everything is kept
    with db.engine.begin() as conn:
        record_retention(conn, 90)
    page = await admin.get("/messages")
    reach = page.text.split('id="message-reach"')[1].split("</p>")[0]
    assert "Messages are kept for 90 days: since" in reach
    since = time.strftime("%Y-%m-%d", time.localtime(time.time() - 90 * 86_400))
    assert since in reach
