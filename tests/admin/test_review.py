"""The review queue: what the checks find (which word, which rule), bulk decisions, each audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from smsplatform.admin import audit, customers, review, words
from smsplatform.admin.actors import cli_actor
from smsplatform.admin.review import Finding
from smsplatform.store import accounts, templates
from smsplatform.store.database import Database
from smsplatform.store.errors import InvalidState, NotFound
from smsplatform.store.templates import TemplateDraft

ROOT = cli_actor("root")


def _account(
    conn: sa.Connection, customer_id: int, signature: str, company: str = "公司", approve: bool = False
) -> int:
    fields = {"company": company, "signature": signature, "totalnum": 1}
    return accounts.create_account(conn, customer_id, fields, approve=approve).id


def _template(conn: sa.Connection, account_id: int, name: str, content: str, ismarket: int = 0) -> int:
    kind = "marketing" if ismarket else ("verification" if "验证码" in content else "notification")
    draft = TemplateDraft(name, content, ismarket, kind, 0, "")
    return templates.create_template(conn, account_id, draft).id


def test_pending_sub_accounts_with_findings(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        clean = _account(conn, customer_id, "【甲方】")
        flagged = _account(conn, customer_id, "【博彩之家】", company="ＶＰＮ代理")
        _account(conn, customer_id, "【已批】", approve=True)
        # Words added after the sub-accounts were submitted count.
        words.add_words(conn, ROOT, ["博彩", "vpn"])
        queue = review.pending_accounts(conn, ROOT)
    assert [(r.account.id, r.findings) for r in queue] == [
        (clean, []),
        (
            flagged,
            [Finding("sensitive_word", "signature", "博彩"), Finding("sensitive_word", "company", "vpn")],
        ),
    ]


def test_pending_templates_with_findings(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        approved = _account(conn, customer_id, "【甲方】", approve=True)
        pending = _account(conn, customer_id, "【乙方】")
        ok = _template(conn, approved, "一", "您的验证码是@，5分钟内有效")
        two_vars = _template(conn, approved, "二", "您的验证码是@，@分钟内有效")
        no_opt_out = _template(conn, approved, "三", "新品上市，赌博请勿来", ismarket=1)
        account_pending = _template(conn, pending, "四", "您好@")
        words.add_words(conn, ROOT, ["赌博"])
        queue = {r.template.id: r.findings for r in review.pending_templates(conn, ROOT)}
        customers.set_enabled(conn, ROOT, customer_id, False)
        disabled = review.check_template(conn, ROOT, ok).findings
    assert queue[ok] == []
    assert queue[two_vars] == [Finding("template_rule", "content", "验证码模板须有且仅有一个变量@")]
    assert [(f.rule, f.detail) for f in queue[no_opt_out]] == [
        ("sensitive_word", "赌博"),
        ("template_rule", "营销短信模板须以“回TD退订”或“拒收请回复R”结尾"),
    ]
    assert queue[account_pending] == [Finding("account_not_approved", "account", "pending")]
    assert disabled == [Finding("customer_disabled", "customer", "甲")]


def test_bulk_decisions_are_each_audited(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        ids = [_account(conn, customer_id, f"【甲方{i}】") for i in range(3)]
        approved = review.approve_accounts(conn, ROOT, [ids[0], ids[1], ids[0]])
        rejected = review.reject_accounts(conn, ROOT, [ids[2]], "资质不全")
        template_ids = [_template(conn, ids[0], str(i), f"您好@{i}") for i in range(3)]
        review.approve_templates(conn, ROOT, template_ids[:2])
        review.reject_templates(conn, ROOT, template_ids[2:], "含有链接")
        entries = [(e.action, e.target) for e in reversed(audit.list_audit(conn, ROOT, limit=100))]
    assert [a.status for a in approved] == ["approved", "approved"]
    assert [(a.status, a.failreason) for a in rejected] == [("rejected", "资质不全")]
    assert entries[1:] == [
        ("account.approve", f"account {ids[0]}"),
        ("account.approve", f"account {ids[1]}"),
        ("account.reject", f"account {ids[2]}"),
        ("template.approve", f"template {template_ids[0]}"),
        ("template.approve", f"template {template_ids[1]}"),
        ("template.reject", f"template {template_ids[2]}"),
    ]


def test_a_bulk_decision_is_all_or_nothing(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        ids = [_account(conn, customer_id, f"【甲方{i}】") for i in range(2)]
    with pytest.raises(NotFound, match="account 99"), db.engine.begin() as conn:
        review.approve_accounts(conn, ROOT, [ids[0], 99, ids[1]])
    with db.engine.begin() as conn:
        assert [r.account.status for r in review.pending_accounts(conn, ROOT)] == ["pending", "pending"]
        review.approve_accounts(conn, ROOT, [ids[0]])
    with pytest.raises(InvalidState), db.engine.begin() as conn:
        review.approve_accounts(conn, ROOT, [ids[1], ids[0]])
    with db.engine.begin() as conn:
        assert [r.account.id for r in review.pending_accounts(conn, ROOT)] == [ids[1]]
        with pytest.raises(ValueError, match="at least one"):
            review.approve_templates(conn, ROOT, [])
