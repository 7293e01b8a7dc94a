"""Customers: appkeys, purchased quota, the switches of the guard (both backends)."""

from __future__ import annotations

import dataclasses
import re

import pytest
import sqlalchemy as sa

from smsplatform.store import accounts, customers, secrets
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound
from smsplatform.store.schema import customers as customers_table
from smsplatform.store.settings import config_version
from tests.api.fast_databases import BACKENDS, fresh_database_url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


def test_create_and_find_by_appkey(db: Database) -> None:
    with db.engine.begin() as conn:
        first = customers.create_customer(
            conn,
            "甲",
            1000,
            expires_at=2_000_000_000,
            allow_ips=("10.0.0.0/8", "127.0.0.1/32"),
            daily_request_limit=5,
        )
        second = customers.create_customer(conn, "乙", 10)
    assert re.fullmatch(r"[0-9a-f]{32}", first.appkey)
    assert first.appkey != second.appkey
    assert (first.name, first.totalnum, first.expires_at, first.enabled) == ("甲", 1000, 2_000_000_000, True)
    assert first.allow_ips == ("10.0.0.0/8", "127.0.0.1/32")
    assert first.daily_request_limit == 5
    assert (second.expires_at, second.allow_ips, second.daily_request_limit) == (None, (), None)
    with db.engine.connect() as conn:
        # The appkey is in plain on the customer just made, and on no customer read back.
        assert customers.get_customer_by_appkey(conn, first.appkey) == dataclasses.replace(first, appkey="")
        assert customers.get_customer(conn, second.id) == dataclasses.replace(second, appkey="")
        assert customers.get_customer_by_appkey(conn, "0" * 32) is None
        assert customers.get_customer_by_appkey(conn, "' OR '1'='1") is None
        with pytest.raises(NotFound):
            customers.get_customer(conn, 999)


def test_topup_and_enable(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "甲", 100)
        assert customers.topup(conn, customer.id, 50).totalnum == 150
        assert customers.set_enabled(conn, customer.id, False).enabled is False
        assert customers.set_enabled(conn, customer.id, True).enabled is True
        with pytest.raises(NotFound):
            customers.topup(conn, 999, 1)
        with pytest.raises(NotFound):
            customers.set_enabled(conn, 999, False)


def test_list_with_the_quota_allocated_to_sub_accounts(db: Database) -> None:
    with db.engine.begin() as conn:
        rich = customers.create_customer(conn, "甲", 100)
        poor = customers.create_customer(conn, "乙", 10)
        first = accounts.create_account(
            conn, rich.id, {"company": "a", "signature": "【甲一】", "totalnum": 30}, approve=True
        )
        accounts.create_account(
            conn, rich.id, {"company": "b", "signature": "【甲二】", "totalnum": 20}, approve=True
        )
        listed = customers.list_customers(conn)
        assert [(c.id, allocated) for c, allocated in listed] == [(rich.id, 50), (poor.id, 0)]
        assert customers.allocated_quota(conn, rich.id) == 50
        assert customers.allocated_quota(conn, rich.id, excluding_account=first.id) == 20
        assert customers.allocated_quota(conn, poor.id) == 0


def test_every_change_moves_the_configuration_version(db: Database) -> None:
    with db.engine.begin() as conn:
        versions = [config_version(conn)]
        customer = customers.create_customer(conn, "甲", 100)
        versions.append(config_version(conn))
        customers.topup(conn, customer.id, 1)
        versions.append(config_version(conn))
        customers.set_enabled(conn, customer.id, False)
        versions.append(config_version(conn))
    assert versions == sorted(set(versions))


def test_appkeys_are_unique(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "甲", 100)
    appkey_hash = db.secrets.lookup_hash(customer.appkey)
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(
            sa.insert(customers_table).values(name="乙", appkey_hash=appkey_hash, totalnum=1, created_at=0)
        )


def test_the_appkey_is_kept_as_its_keyed_hash_and_sealed(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "甲", 100)
        row = conn.execute(sa.select(customers_table).where(customers_table.c.id == customer.id)).one()
    assert customer.appkey not in str(tuple(row))
    assert row.appkey_hash == db.secrets.lookup_hash(customer.appkey) != customer.appkey
    assert db.secrets.open(row.appkey_sealed, secrets.APPKEY) == customer.appkey


def test_a_rotated_appkey_works_through_its_grace_and_not_after(db: Database) -> None:
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "甲", 100)
        rotated = customers.rotate_appkey(conn, customer.id, grace_seconds=60, at=1_000)
    assert re.fullmatch(r"[0-9a-f]{32}", rotated.appkey) and rotated.appkey != customer.appkey
    assert rotated.previous_appkey_until == 1_060
    with db.engine.connect() as conn:
        assert customers.get_customer_by_appkey(conn, rotated.appkey, at=5_000) is not None
        old = customers.find_by_appkey_hash(conn, db.secrets.lookup_hash(customer.appkey), at=1_059)
        assert old is not None and old.customer.id == customer.id and old.works_until == 1_060
        assert customers.get_customer_by_appkey(conn, customer.appkey, at=1_060) is None
        current = customers.find_by_appkey_hash(conn, db.secrets.lookup_hash(rotated.appkey), at=1_059)
        assert current is not None and current.works_until is None


def test_a_rotation_without_grace_ends_the_old_appkey_and_any_older_one_at_once(db: Database) -> None:
    with db.engine.begin() as conn:
        first = customers.create_customer(conn, "甲", 100)
        second = customers.rotate_appkey(conn, first.id, grace_seconds=3_600, at=1_000)
        third = customers.rotate_appkey(conn, first.id, grace_seconds=0, at=1_001)
        with pytest.raises(NotFound):
            customers.rotate_appkey(conn, 999, grace_seconds=0, at=1_001)
    assert third.previous_appkey_until is None
    with db.engine.connect() as conn:
        assert customers.get_customer_by_appkey(conn, first.appkey, at=1_002) is None
        assert customers.get_customer_by_appkey(conn, second.appkey, at=1_002) is None
        assert customers.get_customer_by_appkey(conn, third.appkey, at=1_002) is not None
