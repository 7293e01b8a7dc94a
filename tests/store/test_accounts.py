"""Sub-accounts: quota rules, signature uniqueness, review states, operator settings (both backends)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from smsplatform.store import accounts, customers
from smsplatform.store.accounts import AccountStatus
from smsplatform.store.customers import Customer
from smsplatform.store.database import Database
from smsplatform.store.errors import InvalidState, NotFound, QuotaExceeded, SignatureTaken, TotalBelowUsed
from smsplatform.store.schema import accounts as accounts_table
from smsplatform.store.settings import config_version
from tests.api.fast_databases import BACKENDS, fresh_database_url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


def fields(signature: str, totalnum: int, **extra: object) -> dict[str, object]:
    return {"company": "公司", "signature": signature, "totalnum": totalnum, **extra}


@pytest.fixture
def conn(db: Database) -> Iterator[sa.Connection]:
    with db.engine.begin() as connection:
        yield connection


@pytest.fixture
def customer(conn: sa.Connection) -> Customer:
    return customers.create_customer(conn, "客户", 100)


def use(conn: sa.Connection, account_id: int, amount: int) -> None:
    conn.execute(sa.update(accounts_table).where(accounts_table.c.id == account_id).values(usednum=amount))


def test_create_stores_the_fields_pending_or_approved(conn: sa.Connection, customer: Customer) -> None:
    before = int(time.time())
    pending = accounts.create_account(
        conn, customer.id, fields("【甲方】", 10, statusurl="https://s", replyurl="https://r"), approve=False
    )
    approved = accounts.create_account(conn, customer.id, fields("【乙方】", 10), approve=True)
    assert (pending.status, approved.status) == (AccountStatus.PENDING, AccountStatus.APPROVED)
    assert (pending.statusurl, pending.replyurl, pending.replyusername) == ("https://s", "https://r", "")
    assert (pending.usednum, pending.istemnocheck, pending.failreason, pending.freq_limits) == (0, 0, "", {})
    assert before <= pending.addtime <= time.time() + 1
    assert pending.customer_id == customer.id


def test_extension_codes_are_the_id_in_at_least_four_digits(conn: sa.Connection, customer: Customer) -> None:
    account = accounts.create_account(conn, customer.id, fields("【甲方】", 1), approve=True)
    assert account.extension == f"{account.id:04d}"
    assert accounts.extension_for(7) == "0007"
    assert accounts.extension_for(123456) == "123456"


def test_quota_of_sub_accounts_never_exceeds_the_customers(conn: sa.Connection, customer: Customer) -> None:
    first = accounts.create_account(conn, customer.id, fields("【甲方】", 60), approve=True)
    with pytest.raises(QuotaExceeded):
        accounts.create_account(conn, customer.id, fields("【乙方】", 41), approve=True)
    accounts.create_account(conn, customer.id, fields("【乙方】", 40), approve=True)
    with pytest.raises(QuotaExceeded):
        accounts.update_account(conn, customer.id, first.id, {"totalnum": 61}, approve=False)
    assert (
        accounts.update_account(conn, customer.id, first.id, {"totalnum": 60}, approve=False).totalnum == 60
    )
    assert (
        accounts.update_account(conn, customer.id, first.id, {"totalnum": 10}, approve=False).totalnum == 10
    )
    customers.topup(conn, customer.id, 50)
    accounts.update_account(conn, customer.id, first.id, {"totalnum": 110}, approve=False)


def test_totalnum_never_below_usednum(conn: sa.Connection, customer: Customer) -> None:
    account = accounts.create_account(conn, customer.id, fields("【甲方】", 10), approve=True)
    use(conn, account.id, 7)
    with pytest.raises(TotalBelowUsed):
        accounts.update_account(conn, customer.id, account.id, {"totalnum": 6}, approve=False)
    assert (
        accounts.update_account(conn, customer.id, account.id, {"totalnum": 7}, approve=False).totalnum == 7
    )


def test_the_database_refuses_usednum_over_totalnum(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "客户", 100)
        account = accounts.create_account(conn, customer.id, fields("【甲方】", 10), approve=True)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        use(conn, account.id, 11)


def test_signatures_are_unique_across_customers(conn: sa.Connection, customer: Customer) -> None:
    other = customers.create_customer(conn, "别人", 100)
    mine = accounts.create_account(conn, customer.id, fields("【甲方】", 10), approve=True)
    theirs = accounts.create_account(conn, other.id, fields("【乙方】", 10), approve=True)
    with pytest.raises(SignatureTaken):
        accounts.create_account(conn, other.id, fields("【甲方】", 10), approve=True)
    with pytest.raises(SignatureTaken):
        accounts.update_account(conn, other.id, theirs.id, {"signature": "【甲方】"}, approve=True)
    # Keeping one's own signature is no conflict.
    assert (
        accounts.update_account(conn, customer.id, mine.id, {"signature": "【甲方】"}, approve=False) == mine
    )


def test_a_new_signature_is_reviewed_again(conn: sa.Connection, customer: Customer) -> None:
    account = accounts.create_account(conn, customer.id, fields("【甲方】", 10), approve=True)
    changed = accounts.update_account(
        conn, customer.id, account.id, {"signature": "【新甲方】"}, approve=False
    )
    assert (changed.signature, changed.status) == ("【新甲方】", AccountStatus.PENDING)
    rejected = accounts.review_account(conn, account.id, approve=False, reason="不符")
    again = accounts.update_account(conn, customer.id, account.id, {"signature": "【再甲方】"}, approve=False)
    assert (rejected.failreason, again.status, again.failreason) == ("不符", AccountStatus.PENDING, "")
    auto = accounts.update_account(conn, customer.id, account.id, {"signature": "【自动】"}, approve=True)
    assert auto.status == AccountStatus.APPROVED
    accounts.disable_account(conn, account.id)
    disabled = accounts.update_account(conn, customer.id, account.id, {"signature": "【停用】"}, approve=True)
    assert disabled.status == AccountStatus.DISABLED


def test_update_keeps_what_is_not_given(conn: sa.Connection, customer: Customer) -> None:
    account = accounts.create_account(
        conn, customer.id, fields("【甲方】", 10, statusurl="https://s"), approve=True
    )
    version = config_version(conn)
    assert accounts.update_account(conn, customer.id, account.id, {}, approve=False) == account
    assert config_version(conn) == version
    changed = accounts.update_account(
        conn, customer.id, account.id, {"company": "新公司", "usednum": 9}, approve=False
    )
    assert (changed.company, changed.statusurl, changed.usednum) == ("新公司", "https://s", 0)
    assert config_version(conn) > version


def test_another_customers_account_is_not_found(conn: sa.Connection, customer: Customer) -> None:
    other = customers.create_customer(conn, "别人", 100)
    theirs = accounts.create_account(conn, other.id, fields("【乙方】", 10), approve=True)
    with pytest.raises(NotFound):
        accounts.update_account(conn, customer.id, theirs.id, {"company": "偷改"}, approve=False)
    with pytest.raises(NotFound):
        accounts.get_account(conn, theirs.id, customer_id=customer.id)
    assert accounts.get_account(conn, theirs.id).company == "公司"


def test_list_filters_and_pages(conn: sa.Connection, customer: Customer) -> None:
    other = customers.create_customer(conn, "别人", 100)
    ids = [
        accounts.create_account(conn, customer.id, fields(f"【甲方{i}】", 1), approve=i % 2 == 0).id
        for i in range(5)
    ]
    foreign = accounts.create_account(conn, other.id, fields("【乙方】", 1), approve=False)
    total, listed = accounts.list_accounts(conn, customer.id)
    assert (total, [a.id for a in listed]) == (5, ids)
    total, page = accounts.list_accounts(conn, customer.id, offset=2, limit=2)
    assert (total, [a.id for a in page]) == (5, ids[2:4])
    total, pending = accounts.list_accounts(conn, status=AccountStatus.PENDING)
    assert (total, [a.id for a in pending]) == (3, [ids[1], ids[3], foreign.id])
    assert accounts.list_accounts(conn, None)[0] == 6


def test_review_rules(conn: sa.Connection, customer: Customer) -> None:
    account = accounts.create_account(conn, customer.id, fields("【甲方】", 1), approve=False)
    rejected = accounts.review_account(conn, account.id, approve=False, reason="资质不全")
    assert (rejected.status, rejected.failreason) == (AccountStatus.REJECTED, "资质不全")
    approved = accounts.review_account(conn, account.id, approve=True, reason="ignored")
    assert (approved.status, approved.failreason) == (AccountStatus.APPROVED, "")
    accounts.disable_account(conn, account.id)
    with pytest.raises(InvalidState):
        accounts.review_account(conn, account.id, approve=True)
    with pytest.raises(NotFound):
        accounts.review_account(conn, 999, approve=True)


def test_operator_settings(conn: sa.Connection, customer: Customer) -> None:
    account = accounts.create_account(conn, customer.id, fields("【甲方】", 1), approve=True)
    assert accounts.set_template_exempt(conn, account.id).istemnocheck == 1
    assert accounts.set_template_exempt(conn, account.id, False).istemnocheck == 0
    limits = {"verification": "1/60,2/3600", "marketing": ""}
    assert accounts.set_frequency_limits(conn, account.id, limits).freq_limits == limits
    assert accounts.get_account(conn, account.id).freq_limits == limits
    assert accounts.disable_account(conn, account.id).status == AccountStatus.DISABLED
    with pytest.raises(NotFound):
        accounts.disable_account(conn, 999)
    with pytest.raises(NotFound):
        accounts.set_template_exempt(conn, 999)
    with pytest.raises(NotFound):
        accounts.set_frequency_limits(conn, 999, {})


def test_text_is_stored_verbatim(conn: sa.Connection, customer: Customer) -> None:
    nasty = "'); DROP TABLE accounts; -- \" %_ \\"
    account = accounts.create_account(
        conn, customer.id, fields("【O'Re;--】", 1, company=nasty, statusurl=nasty), approve=True
    )
    stored = accounts.get_account(conn, account.id)
    assert (stored.company, stored.signature, stored.statusurl) == (nasty, "【O'Re;--】", nasty)
