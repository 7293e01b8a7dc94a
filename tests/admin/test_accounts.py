"""Sub-account operations: names beside ids, review, enable after disable, exemption, limits, audit."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from smsplatform.admin import accounts, audit, customers, review
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store import accounts as store
from smsplatform.store.database import Database
from smsplatform.store.errors import InvalidState, NotFound

ROOT = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)


def _account(conn: sa.Connection, customer_id: int, signature: str, **extra: object) -> int:
    fields = {"company": "公司", "signature": signature, "totalnum": 10, **extra}
    return store.create_account(conn, customer_id, fields, approve=False).id


def _actions(conn: sa.Connection) -> list[str]:
    return [e.action for e in reversed(audit.list_audit(conn, ROOT, action="account"))]


def test_list_shows_customer_names_and_filters(db: Database) -> None:
    with db.engine.begin() as conn:
        first = customers.create_customer(conn, ROOT, "甲公司", 100).customer.id
        second = customers.create_customer(conn, ROOT, "乙公司", 100).customer.id
        a = _account(conn, first, "【甲方】", replypassword="secret")
        b = _account(conn, second, "【乙方】")
        accounts.approve_account(conn, ROOT, b)
        everything = accounts.list_accounts(conn, REVIEWER)
        pending = accounts.list_accounts(conn, REVIEWER, status="pending")
        of_second = accounts.list_accounts(conn, REVIEWER, customer_id=second)
        with pytest.raises(ValueError, match="unknown status"):
            accounts.list_accounts(conn, REVIEWER, status="sleeping")
    assert [(x.id, x.customer_name, x.status) for x in everything] == [
        (a, "甲公司", "pending"),
        (b, "乙公司", "approved"),
    ]
    assert [x.id for x in pending] == [a] and [x.id for x in of_second] == [b]
    assert everything[0].replypassword == "******" and everything[1].replypassword == ""


def test_review_disable_and_enable_again(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        account_id = _account(conn, customer_id, "【甲方】")
        rejected = accounts.reject_account(conn, REVIEWER, account_id, " 资质不全 ")
        assert (rejected.status, rejected.failreason) == ("rejected", "资质不全")
        assert accounts.approve_account(conn, REVIEWER, account_id).failreason == ""
        with pytest.raises(InvalidState, match="already approved"):
            accounts.approve_account(conn, ROOT, account_id)
        assert accounts.disable_account(conn, ROOT, account_id).status == "disabled"
        with pytest.raises(InvalidState, match="disabled"):
            accounts.approve_account(conn, ROOT, account_id)
        assert accounts.enable_account(conn, ROOT, account_id).status == "approved"
        with pytest.raises(InvalidState, match="not disabled"):
            accounts.enable_account(conn, ROOT, account_id)
        assert _actions(conn) == ["account.reject", "account.approve", "account.disable", "account.enable"]
        entry = audit.list_audit(conn, ROOT, action="account.enable")[0]
    assert entry.target == f"account {account_id}"
    assert (json.loads(entry.before)["status"], json.loads(entry.after)["status"]) == ("disabled", "approved")


def test_exemption_and_frequency_limits(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        account_id = _account(conn, customer_id, "【甲方】")
        assert accounts.set_template_exempt(conn, ROOT, account_id, True).template_exempt is True
        assert accounts.set_template_exempt(conn, ROOT, account_id, False).template_exempt is False
        limited = accounts.set_frequency_limits(conn, ROOT, account_id, "Verification", "1/60,3/1h")
        assert limited.freq_limits == {"verification": "1/60,3/1h"}
        both = accounts.set_frequency_limits(conn, ROOT, account_id, "marketing", "2/d")
        assert both.freq_limits == {"verification": "1/60,3/1h", "marketing": "2/d"}
        reset = accounts.set_frequency_limits(conn, ROOT, account_id, "verification", None)
        assert reset.freq_limits == {"marketing": "2/d"}
        with pytest.raises(ValueError, match="bad limits"):
            accounts.set_frequency_limits(conn, ROOT, account_id, "marketing", "often")
        with pytest.raises(ValueError, match="unknown kind"):
            accounts.set_frequency_limits(conn, ROOT, account_id, "spam", "1/60")
        assert store.get_account(conn, account_id).freq_limits == {"marketing": "2/d"}
        assert _actions(conn) == ["account.exempt", "account.unexempt", *["account.limits"] * 3]


def test_maximum_age_overrides_by_kind(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        account_id = _account(conn, customer_id, "【甲方】")
        assert accounts.get_account(conn, ROOT, account_id).max_age == {}
        shorter = accounts.set_max_age(conn, ROOT, account_id, "Verification", 300)
        assert shorter.max_age == {"verification": 300}
        both = accounts.set_max_age(conn, ROOT, account_id, "marketing", 7200)
        assert both.max_age == {"verification": 300, "marketing": 7200}
        assert accounts.set_max_age(conn, ROOT, account_id, "verification", None).max_age == {
            "marketing": 7200
        }
        for bad in (0, -5, 366 * 86400):
            with pytest.raises(ValueError, match="bad maximum age"):
                accounts.set_max_age(conn, ROOT, account_id, "marketing", bad)
        with pytest.raises(ValueError, match="unknown kind"):
            accounts.set_max_age(conn, ROOT, account_id, "spam", 60)
        assert store.get_account(conn, account_id).max_age == {"marketing": 7200}
        assert _actions(conn) == ["account.max_age"] * 3
        entry = audit.list_audit(conn, ROOT, action="account.max_age")[-1]  # newest first: the first change
    assert (json.loads(entry.before)["max_age"], json.loads(entry.after)["max_age"]) == (
        {},
        {"verification": 300},
    )


def test_refusals(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 100).customer.id
        account_id = _account(conn, customer_id, "【甲方】")
        with pytest.raises(NotFound, match="account 99"):
            accounts.approve_account(conn, ROOT, 99)
        with pytest.raises(ValueError, match="reason"):
            accounts.reject_account(conn, ROOT, account_id, "  ")
        with pytest.raises(ValueError, match="at most 500"):
            accounts.reject_account(conn, ROOT, account_id, "因" * 501)
        with pytest.raises(Forbidden):
            accounts.disable_account(conn, REVIEWER, account_id)
        with pytest.raises(Forbidden):
            accounts.set_template_exempt(conn, REVIEWER, account_id, True)
        assert _actions(conn) == []


def test_the_review_flags_a_signature_stored_before_it_was_canonical(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, ROOT, "甲公司", 100).customer.id
        # As an earlier version stored what the customer sent: with a zero-width space.
        legacy = _account(conn, customer, "【甲方\u200b】")
        clean = _account(conn, customer, "【乙方】")
        legacy_findings = review.check_account(conn, ROOT, legacy).findings
        clean_findings = review.check_account(conn, ROOT, clean).findings
    assert review.Finding(review.SIGNATURE_FORMAT, "signature", "【甲方\u200b】") in legacy_findings
    assert clean_findings == []


def test_a_reject_reason_with_control_characters_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, ROOT, "甲公司", 100).customer.id
        account_id = _account(conn, customer, "【甲方】")
        for reason in ("资质\x00不全", "资质\x1b[31m不全", "资质\t不全"):
            with pytest.raises(ValueError, match="control characters"):
                accounts.reject_account(conn, ROOT, account_id, reason)
        assert accounts.get_account(conn, ROOT, account_id).status == "pending"
