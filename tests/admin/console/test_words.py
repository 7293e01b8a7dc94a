"""Sensitive words in the console: listed and found, added, imported from a file, removed."""

from __future__ import annotations

from smsplatform.admin import words
from smsplatform.store.database import Database
from tests.admin.console.conftest import ROOT, Browser, World


def listed(db: Database) -> set[str]:
    with db.engine.begin() as conn:
        return {w.word for w in words.list_words(conn, ROOT)}


async def test_words_are_added_imported_and_removed(admin: Browser, world: World, db: Database) -> None:
    page = await admin.get("/words?q=赌")
    assert "赌博" in page.text and "代开发票" not in page.text
    answer = await admin.post("/words", {"words": "刷单\n赌博"})
    assert answer.status_code == 303
    assert "1 added. Unchanged: 赌博" in (await admin.get("/words")).text
    file_text = "# a list\n套现\n\n网贷\n".encode("gb18030")
    answer = await admin.client.post(
        "/words/import", data={"csrf": admin.csrf}, files={"file": ("words.txt", file_text, "text/plain")}
    )
    assert answer.status_code == 303
    assert {"刷单", "套现", "网贷"} <= listed(db)
    answer = await admin.client.post("/words/remove", data={"csrf": admin.csrf, "word": ["赌博", "套现"]})
    assert answer.status_code == 303
    assert "赌博" not in listed(db) and "套现" not in listed(db)


async def test_an_import_without_a_file_is_refused(admin: Browser, world: World) -> None:
    await admin.get("/words")
    answer = await admin.client.post("/words/import", data={"csrf": admin.csrf})
    assert answer.status_code == 400
