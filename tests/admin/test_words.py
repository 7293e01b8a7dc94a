"""Sensitive-word operations: add, remove, import, the column's limit alike on both backends, audit."""

from __future__ import annotations

import json

import pytest

from smsplatform.admin import audit, words
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store.database import Database

ROOT = cli_actor("root")


def test_add_remove_list_and_audit(db: Database) -> None:
    with db.engine.begin() as conn:
        added = words.add_words(conn, ROOT, [" 赌博 ", "VPN", "赌博"])
        again = words.add_words(conn, ROOT, ["赌博"])
        listed = words.list_words(conn, Actor("rita", Role.REVIEWER, Via.CONSOLE))
        removed = words.remove_words(conn, ROOT, ["VPN", "不存在"])
        entries = list(reversed(audit.list_audit(conn, ROOT)))
    assert (added.changed, added.unchanged) == (["VPN", "赌博"], [])
    assert (again.changed, again.unchanged) == ([], ["赌博"])
    assert [w.word for w in listed] == ["VPN", "赌博"] and all(w.created_at > 0 for w in listed)
    assert (removed.changed, removed.unchanged) == (["VPN"], ["不存在"])
    assert [(e.action, e.target) for e in entries] == [("word.add", "words"), ("word.remove", "words")]
    assert json.loads(entries[0].after) == {"words": ["VPN", "赌博"]}
    assert json.loads(entries[1].before) == {"words": ["VPN"]}


def test_import_skips_comments_and_blank_lines(db: Database) -> None:
    with db.engine.begin() as conn:
        imported = words.import_words(conn, ROOT, "\ufeff# 运营商清单\n赌博\n\n  代开发票  \n# 注释\n赌博\n")
        assert [w.word for w in words.list_words(conn, ROOT)] == sorted(["赌博", "代开发票"])
    assert sorted(imported.changed) == sorted(["赌博", "代开发票"])


def test_overlong_words_are_refused_alike_on_both_backends(db: Database) -> None:
    with db.engine.begin() as conn:
        with pytest.raises(ValueError, match="at most 100"):
            words.add_words(conn, ROOT, ["短词", "词" * 101])
        with pytest.raises(ValueError, match="at least one"):
            words.add_words(conn, ROOT, [" "])
        with pytest.raises(ValueError, match="one line"):
            words.add_words(conn, ROOT, ["两\n行"])
        assert words.list_words(conn, ROOT) == []
        assert words.add_words(conn, ROOT, ["词" * 100]).changed == ["词" * 100]
        with pytest.raises(Forbidden):
            words.remove_words(conn, Actor("rita", Role.REVIEWER, Via.CONSOLE), ["词" * 100])
