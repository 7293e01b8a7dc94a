"""Templates: name uniqueness per sub-account, ownership, listing, review (both backends)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from smsplatform.domain.templates import TemplateStatus
from smsplatform.store import accounts, customers, templates
from smsplatform.store.accounts import Account
from smsplatform.store.database import Database
from smsplatform.store.errors import DuplicateTemplateName, InvalidState, NotFound
from smsplatform.store.schema import templates as templates_table
from smsplatform.store.templates import TemplateDraft
from tests.api.fast_databases import BACKENDS, fresh_database_url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


def draft(name: str, content: str = "您好@", status: int = TemplateStatus.PENDING) -> TemplateDraft:
    return TemplateDraft(
        name=name, content=content, ismarket=0, kind="notification", status=status, failreason=""
    )


@pytest.fixture
def conn(db: Database) -> Iterator[sa.Connection]:
    with db.engine.begin() as connection:
        yield connection


@pytest.fixture
def pair(conn: sa.Connection) -> tuple[Account, Account]:
    """Two sub-accounts of one customer."""
    customer = customers.create_customer(conn, "客户", 100)
    made = [
        accounts.create_account(
            conn, customer.id, {"company": "c", "signature": s, "totalnum": 1}, approve=True
        )
        for s in ("【甲方】", "【乙方】")
    ]
    return made[0], made[1]


def test_create_and_get(conn: sa.Connection, pair: tuple[Account, Account]) -> None:
    account, _ = pair
    before = int(time.time())
    created = templates.create_template(
        conn,
        account.id,
        TemplateDraft("营销", "新品@，回TD退订", 1, "marketing", TemplateStatus.REJECTED, "原因"),
    )
    assert (created.account_id, created.name, created.content, created.ismarket) == (
        account.id,
        "营销",
        "新品@，回TD退订",
        1,
    )
    assert (created.kind, created.status, created.failreason) == (
        "marketing",
        TemplateStatus.REJECTED,
        "原因",
    )
    assert before <= created.addtime <= time.time() + 1
    assert templates.get_template(conn, created.id) == created


def test_names_are_unique_per_sub_account(conn: sa.Connection, pair: tuple[Account, Account]) -> None:
    first, second = pair
    one = templates.create_template(conn, first.id, draft("通知"))
    two = templates.create_template(conn, first.id, draft("另一个"))
    with pytest.raises(DuplicateTemplateName):
        templates.create_template(conn, first.id, draft("通知"))
    templates.create_template(conn, second.id, draft("通知"))
    with pytest.raises(DuplicateTemplateName):
        templates.update_template(conn, first.id, two.id, draft("通知"))
    assert templates.update_template(conn, first.id, one.id, draft("通知", "改了@")).content == "改了@"


def test_the_database_refuses_duplicate_names(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "客户", 100)
        fields = {"company": "c", "signature": "【甲方】", "totalnum": 1}
        account = accounts.create_account(conn, customer.id, fields, approve=True)
        templates.create_template(conn, account.id, draft("通知"))
    row = {"account_id": account.id, "name": "通知", "content": "x", "kind": "notification", "addtime": 0}
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(sa.insert(templates_table).values(**row))


def test_update_replaces_the_review(conn: sa.Connection, pair: tuple[Account, Account]) -> None:
    account, _ = pair
    created = templates.create_template(conn, account.id, draft("通知", status=TemplateStatus.APPROVED))
    updated = templates.update_template(conn, account.id, created.id, draft("通知2", "新的@"))
    assert (updated.id, updated.name, updated.content, updated.status) == (
        created.id,
        "通知2",
        "新的@",
        TemplateStatus.PENDING,
    )
    assert updated.addtime == created.addtime


def test_ownership_scopes(conn: sa.Connection, pair: tuple[Account, Account]) -> None:
    first, second = pair
    stranger = customers.create_customer(conn, "别人", 10)
    created = templates.create_template(conn, first.id, draft("通知"))
    assert (
        templates.get_template(conn, created.id, account_id=first.id, customer_id=first.customer_id)
        == created
    )
    for scope in ({"account_id": second.id}, {"customer_id": stranger.id}):
        with pytest.raises(NotFound):
            templates.get_template(conn, created.id, **scope)
    with pytest.raises(NotFound):
        templates.update_template(conn, second.id, created.id, draft("偷改"))
    with pytest.raises(NotFound):
        templates.get_template(conn, 999)


def test_list_filters_and_pages(conn: sa.Connection, pair: tuple[Account, Account]) -> None:
    first, second = pair
    ids = [templates.create_template(conn, first.id, draft(f"t{i}", status=i % 2)).id for i in range(5)]
    other = templates.create_template(conn, second.id, draft("t")).id
    assert templates.list_templates(conn, first.id)[0] == 5
    total, page = templates.list_templates(conn, first.id, offset=1, limit=3)
    assert (total, [t.id for t in page]) == (5, ids[1:4])
    total, pending = templates.list_templates(conn, status=TemplateStatus.PENDING)
    assert (total, [t.id for t in pending]) == (4, [ids[0], ids[2], ids[4], other])


def test_review(conn: sa.Connection, pair: tuple[Account, Account]) -> None:
    account, _ = pair
    created = templates.create_template(conn, account.id, draft("通知"))
    rejected = templates.review_template(conn, created.id, approve=False, reason="含有链接")
    assert (rejected.status, rejected.failreason) == (TemplateStatus.REJECTED, "含有链接")
    approved = templates.review_template(conn, created.id, approve=True)
    assert (approved.status, approved.failreason) == (TemplateStatus.APPROVED, "")
    with pytest.raises(InvalidState):
        templates.review_template(conn, created.id, approve=True)
    assert (
        templates.review_template(conn, created.id, approve=False, reason="撤回").status
        == TemplateStatus.REJECTED
    )
    with pytest.raises(NotFound):
        templates.review_template(conn, 999, approve=True)
