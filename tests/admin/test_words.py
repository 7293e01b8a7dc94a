"""Sensitive-word operations: add, remove, import, the column's limit alike on both backends, audit."""

from __future__ import annotations

import json

import pytest

from smsplatform.admin import audit, customers, review, words
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store import accounts, templates
from smsplatform.store.database import Database
from smsplatform.store.templates import TemplateDraft

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


def test_a_word_with_invisible_or_control_characters_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        for word in ("赌\u200b博", "赌\x00博", "\u202e博赌"):
            with pytest.raises(ValueError, match="printable"):
                words.add_words(conn, ROOT, [word])
        assert words.list_words(conn, ROOT) == []


def test_the_review_finds_listed_words_however_dressed(db: Database) -> None:
    with db.engine.begin() as conn:
        words.add_words(conn, ROOT, ["赌博", "代開發票"])  # one simplified, one traditional
        customer = customers.create_customer(conn, ROOT, "甲公司", 100).customer.id
        account = accounts.create_account(
            conn, customer, {"company": "賭 博科技", "signature": "【甲方】", "totalnum": 1}, approve=False
        )
        texts = {
            "traditional": "欢迎来賭博@",
            "spaced": "欢迎来赌 博@",
            "punctuated": "欢迎来赌，博@",
            "hidden": "欢迎来赌\u00ad博@",
            "simplified": "代开·发票@",
        }
        ids = {
            name: templates.create_template(
                conn, account.id, TemplateDraft(name, text, 0, "notification", 0, "")
            ).id
            for name, text in texts.items()
        }
        found = {name: review.check_template(conn, ROOT, ids[name]).findings for name in texts}
        account_findings = review.check_account(conn, ROOT, account.id).findings
    for name in texts:
        assert (
            review.Finding(review.SENSITIVE_WORD, "content", "代開發票" if name == "simplified" else "赌博")
            in (found[name])
        ), name
    assert review.Finding(review.SENSITIVE_WORD, "company", "赌博") in account_findings
