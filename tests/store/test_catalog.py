"""The cached configuration: what it holds, and that another process's change reaches it in time."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from smsplatform.domain.numbers import Carrier
from smsplatform.domain.templates import TemplateStatus
from smsplatform.store import accounts, customers, routing, templates, words
from smsplatform.store import settings as switches
from smsplatform.store.catalog import Catalog
from smsplatform.store.database import Database, create_engine
from smsplatform.store.templates import TemplateDraft
from tests.api.fast_databases import BACKENDS, fresh_database_url
from tests.waiting import wait_for


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


def other_process(database_url: str) -> sa.Engine:
    """A separate engine: the CLI changing the database while `serve` runs."""
    return create_engine(database_url)


async def test_another_connections_change_arrives_within_the_poll_interval(
    db: Database, database_url: str
) -> None:
    catalog = Catalog(db, poll_seconds=0.3)
    first = await catalog.current()
    assert not first.maintenance
    engine = other_process(database_url)
    try:
        with engine.begin() as conn:
            switches.set_setting(conn, switches.MAINTENANCE, "1")
    finally:
        engine.dispose()

    async def noticed() -> bool:
        return (await catalog.current()).maintenance

    await wait_for(
        noticed, within=0.3 + 2, what="the change to be noticed within the poll interval", every=0.02
    )


async def test_within_the_interval_the_cache_is_trusted(db: Database) -> None:
    catalog = Catalog(db, poll_seconds=60)
    first = await catalog.current()
    await db.write(switches.set_setting, switches.MAINTENANCE, "1")
    assert await catalog.current() is first
    catalog.invalidate()
    assert (await catalog.current()).maintenance


async def test_an_unchanged_version_keeps_the_snapshot(db: Database) -> None:
    catalog = Catalog(db, poll_seconds=0)
    assert await catalog.current() is await catalog.current()


async def test_snapshot_holds_words_carriers_and_switches(db: Database) -> None:
    await db.write(words.add_words, ["赌博", "ＶＰＮ"])
    await db.write(routing.set_prefix, "1990001", "unicom")
    await db.write(switches.set_setting, switches.DISABLED_ENDPOINTS, "send,balance")
    snapshot = await Catalog(db, poll_seconds=0).current()
    assert snapshot.words.words == sorted(["赌博", "ＶＰＮ"])
    assert snapshot.words.first("翻墙vpn") == "ＶＰＮ"
    assert snapshot.carriers.carrier_of("19900010000") == Carrier.UNICOM
    assert snapshot.carriers.carrier_of("19900020000") == Carrier.TELECOM
    assert snapshot.disabled_endpoints == frozenset({"send", "balance"})
    assert not snapshot.maintenance


async def test_customer_view(db: Database) -> None:
    def setup(conn: sa.Connection) -> tuple[str, int, int]:
        customer = customers.create_customer(conn, "客户", 100)
        fields = {"company": "c", "signature": "【甲方】", "totalnum": 10}
        account = accounts.create_account(conn, customer.id, fields, approve=True)
        template = templates.create_template(
            conn,
            account.id,
            TemplateDraft("n", "您的验证码是@", 0, "verification", TemplateStatus.APPROVED, ""),
        )
        return customer.appkey, account.id, template.id

    appkey, account_id, template_id = await db.write(setup)
    catalog = Catalog(db, poll_seconds=0)
    _, view = await catalog.customer(appkey)
    assert view is not None
    assert list(view.accounts) == [account_id]
    assert view.by_signature["【甲方】"].id == account_id
    match = view.matchers[account_id].match("您的验证码是1234")
    assert match is not None and match.template_id == template_id
    assert view.template_kinds[template_id] == "verification"
    assert (await catalog.customer("unknown"))[1] is None


async def test_a_customer_created_later_is_found(db: Database, database_url: str) -> None:
    catalog = Catalog(db, poll_seconds=0)
    engine = other_process(database_url)
    try:
        with engine.begin() as conn:
            known = customers.create_customer(conn, "先", 1)
        assert (await catalog.customer(known.appkey))[1] is not None
        with engine.begin() as conn:
            later = customers.create_customer(conn, "后", 1)
            customers.set_enabled(conn, known.id, False)
    finally:
        engine.dispose()
    _, view = await catalog.customer(later.appkey)
    assert view is not None and view.customer.name == "后"
    _, old = await catalog.customer(known.appkey)
    assert old is not None and not old.customer.enabled


@pytest.mark.parametrize("poll", [0.0, 0.2])
async def test_concurrent_readers_share_one_reload(db: Database, poll: float) -> None:
    catalog = Catalog(db, poll_seconds=poll)
    snapshots = await asyncio.gather(*(catalog.current() for _ in range(20)))
    assert all(s is snapshots[0] for s in snapshots)


async def test_an_old_appkey_works_until_its_grace_ends_and_then_is_unknown(db: Database) -> None:
    customer = await db.write(customers.create_customer, "甲", 10)
    ends = int(time.time()) + 2
    rotated = await db.write(customers.rotate_appkey, customer.id, grace_seconds=2, at=ends - 2)
    catalog = Catalog(db, poll_seconds=60)  # the cached view itself must stop the old key
    _, new = await catalog.customer(rotated.appkey)
    _, old = await catalog.customer(customer.appkey)
    assert new is not None and old is not None and new.customer.id == old.customer.id == customer.id

    async def old_key_unknown() -> bool:
        return (await catalog.customer(customer.appkey))[1] is None

    await wait_for(
        old_key_unknown, within=ends + 2 - time.time(), what="the old appkey to stop after its grace"
    )
    assert time.time() >= ends
    assert (await catalog.customer(rotated.appkey))[1] is not None
    # Found by the keyed hash: the cache holds no appkey.
    snapshot = await catalog.current()
    assert customer.appkey not in snapshot.customers and rotated.appkey not in snapshot.customers
