"""Template operations: signature and customer beside each, review, audit."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from smsplatform.admin import audit, customers, review, templates
from smsplatform.admin.actors import Actor, Role, Via, cli_actor
from smsplatform.store import accounts
from smsplatform.store import templates as store
from smsplatform.store.database import Database
from smsplatform.store.errors import InvalidState, NotFound
from smsplatform.store.templates import TemplateDraft

ROOT = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.API)


def _setup(conn: sa.Connection) -> tuple[int, int, int]:
    first = customers.create_customer(conn, ROOT, "甲公司", 100).customer.id
    second = customers.create_customer(conn, ROOT, "乙公司", 100).customer.id
    a = accounts.create_account(
        conn, first, {"company": "甲", "signature": "【甲方】", "totalnum": 1}, approve=True
    )
    b = accounts.create_account(
        conn, second, {"company": "乙", "signature": "【乙方】", "totalnum": 1}, approve=True
    )
    draft = TemplateDraft("通知", "您好@", 0, "notification", 0, "")
    return store.create_template(conn, a.id, draft).id, store.create_template(conn, b.id, draft).id, second


def test_list_shows_signature_and_customer_and_filters(db: Database) -> None:
    with db.engine.begin() as conn:
        first, second, second_customer = _setup(conn)
        listed = templates.list_templates(conn, REVIEWER)
        of_customer = templates.list_templates(conn, REVIEWER, customer_id=second_customer)
        templates.approve_template(conn, REVIEWER, first)
        pending = templates.list_templates(conn, REVIEWER, status="pending")
    assert [(t.id, t.signature, t.customer_name, t.kind, t.status) for t in listed] == [
        (first, "【甲方】", "甲公司", "notification", "pending"),
        (second, "【乙方】", "乙公司", "notification", "pending"),
    ]
    assert [t.id for t in of_customer] == [second] and [t.id for t in pending] == [second]


def test_review_is_audited(db: Database) -> None:
    with db.engine.begin() as conn:
        first, second, _ = _setup(conn)
        assert templates.approve_template(conn, REVIEWER, first).status == "approved"
        rejected = templates.reject_template(conn, REVIEWER, second, "含有链接")
        assert (rejected.status, rejected.failreason) == ("rejected", "含有链接")
        with pytest.raises(InvalidState, match="already approved"):
            templates.approve_template(conn, ROOT, first)
        with pytest.raises(NotFound, match="template 99"):
            templates.reject_template(conn, ROOT, 99, "x")
        entries = list(reversed(audit.list_audit(conn, ROOT, action="template")))
    assert [(e.operator, e.via, e.action, e.target) for e in entries] == [
        ("rita", "api", "template.approve", f"template {first}"),
        ("rita", "api", "template.reject", f"template {second}"),
    ]
    assert json.loads(entries[1].after)["failreason"] == "含有链接"


def test_the_review_shows_invisible_characters_a_template_holds(db: Database) -> None:
    with db.engine.begin() as conn:
        first, _, _ = _setup(conn)
        account_id = templates.get_template(conn, ROOT, first).account_id
        hidden = store.create_template(
            conn, account_id, TemplateDraft("隐藏", "您好@，\u202e订单\u200b已发货", 0, "notification", 0, "")
        ).id
        findings = review.check_template(conn, ROOT, hidden).findings
        plain = review.check_template(conn, ROOT, first).findings
    assert review.Finding(review.TEMPLATE_RULE, "content", "模板内容含不可见字符：U+202E, U+200B") in findings
    assert not [f for f in plain if f.rule == review.TEMPLATE_RULE]


def test_a_reject_reason_with_control_characters_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        first, _, _ = _setup(conn)
        with pytest.raises(ValueError, match="control characters"):
            templates.reject_template(conn, REVIEWER, first, "含有\x00链接")
        # A reason may run over lines.
        assert (
            templates.reject_template(conn, REVIEWER, first, "含有链接\n请删除").failreason
            == "含有链接\n请删除"
        )
