"""Customer operations: the appkey shown once, quota shared out, switches, every change audited."""

from __future__ import annotations

import json

import pytest

from smsplatform.admin import audit, customers
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store import accounts
from smsplatform.store.customers import get_customer_by_appkey
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound

ROOT = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)


def test_create_returns_the_appkey_once_and_lists_shared_quota(db: Database) -> None:
    with db.engine.begin() as conn:
        created = customers.create_customer(
            conn, ROOT, " 进制数据 ", 1000, allow_ips=["10.0.0.1", "10.0.0.1/32", "192.168.0.0/16"]
        )
        found = get_customer_by_appkey(conn, created.appkey)
        assert found is not None and found.id == created.customer.id
        accounts.create_account(
            conn,
            created.customer.id,
            {"company": "甲", "signature": "【甲方】", "totalnum": 300},
            approve=False,
        )
        listed = customers.list_customers(conn, REVIEWER)
        one = customers.get_customer(conn, REVIEWER, created.customer.id)
        entry = audit.list_audit(conn, ROOT)[0]
    assert created.customer.name == "进制数据"
    assert created.customer.allow_ips == ("10.0.0.1/32", "192.168.0.0/16")
    assert [(c.name, c.totalnum, c.allocated) for c in listed] == [("进制数据", 1000, 300)]
    assert one == listed[0]
    assert not hasattr(one, "appkey")
    assert (entry.operator, entry.via, entry.action, entry.target) == (
        "root",
        "cli",
        "customer.create",
        "customer 1",
    )
    assert created.appkey not in entry.after and json.loads(entry.after)["name"] == "进制数据"


def test_changes_are_audited_with_before_and_after(db: Database) -> None:
    with db.engine.begin() as conn:
        customer_id = customers.create_customer(conn, ROOT, "甲", 5).customer.id
        assert customers.topup(conn, ROOT, customer_id, 10).totalnum == 15
        assert customers.set_enabled(conn, ROOT, customer_id, False).enabled is False
        assert customers.set_enabled(conn, ROOT, customer_id, True).enabled is True
        assert customers.set_allow_ips(conn, ROOT, customer_id, ["10.1.2.0/24"]).allow_ips == ("10.1.2.0/24",)
        assert customers.set_allow_ips(conn, ROOT, customer_id, []).allow_ips == ()
        assert customers.set_daily_limit(conn, ROOT, customer_id, 500).daily_request_limit == 500
        assert customers.set_daily_limit(conn, ROOT, customer_id, None).daily_request_limit is None
        assert customers.set_expiry(conn, ROOT, customer_id, 1896134399).expires_at == 1896134399
        entries = audit.list_audit(conn, ROOT, action="customer")
    assert [e.action for e in reversed(entries)] == [
        "customer.create",
        "customer.topup",
        "customer.disable",
        "customer.enable",
        "customer.allow_ips",
        "customer.allow_ips",
        "customer.daily_limit",
        "customer.daily_limit",
        "customer.expiry",
    ]
    topup = next(e for e in entries if e.action == "customer.topup")
    assert (json.loads(topup.before)["totalnum"], json.loads(topup.after)["totalnum"]) == (5, 15)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda conn: customers.create_customer(conn, ROOT, " ", 5), "name"),
        (lambda conn: customers.create_customer(conn, ROOT, "名" * 101, 5), "at most 100"),
        (lambda conn: customers.create_customer(conn, ROOT, "甲", 0), "quota"),
        (lambda conn: customers.create_customer(conn, ROOT, "甲", 5, allow_ips=["10.0.0.300"]), "CIDR"),
        (lambda conn: customers.create_customer(conn, ROOT, "甲", 5, daily_request_limit=0), "daily limit"),
        (lambda conn: customers.topup(conn, ROOT, 1, -1), "amount"),
        (lambda conn: customers.set_daily_limit(conn, ROOT, 1, 2**31), "daily limit"),
    ],
)
def test_bad_values_are_refused_with_a_readable_message(db: Database, call: object, message: str) -> None:
    with db.engine.begin() as conn:
        customers.create_customer(conn, ROOT, "甲", 5)
        with pytest.raises(ValueError, match=message):
            call(conn)  # type: ignore[operator]


def test_unknown_customers_and_reviewers_are_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        with pytest.raises(NotFound, match="customer 9"):
            customers.topup(conn, ROOT, 9, 5)
        with pytest.raises(NotFound):
            customers.get_customer(conn, ROOT, 9)
        customer_id = customers.create_customer(conn, ROOT, "甲", 5).customer.id
        with pytest.raises(Forbidden):
            customers.create_customer(conn, REVIEWER, "乙", 5)
        with pytest.raises(Forbidden):
            customers.set_enabled(conn, REVIEWER, customer_id, False)
        assert customers.get_customer(conn, ROOT, customer_id).enabled
