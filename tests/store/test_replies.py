"""Replies (MO): their sub-account, their callback and opt-outs (both backends)."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.domain.payloads import local_time
from smsplatform.store.database import Database
from smsplatform.store.replies import InboundIn, store_inbound
from smsplatform.store.schema import inbound, optouts
from tests.dispatch.support import callback_items, make_account, queue, run


def test_a_reply_finds_its_sub_account_by_extension(db: Database) -> None:
    account = make_account(db)
    other = make_account(db, signature="【其他公司】")
    mo = InboundIn("smsc-1", "1069000", "8613800138000", "1069000" + account.extension, "收到，谢谢")
    [stored] = run(db, store_inbound, [mo], 1_500)
    assert (stored.account_id, stored.opted_out) == (account.id, False)
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(inbound)).one()
    assert (row.id, row.customer_id, row.mobile, row.content) == (
        stored.id,
        account.customer_id,
        "13800138000",
        "收到，谢谢",
    )
    assert callback_items(db, "reply") == [
        {
            "replyid": str(stored.id),
            "accountid": str(account.id),
            "mobile": "13800138000",
            "content": "收到，谢谢",
            "receivetime": local_time(1_500),
        }
    ]
    # Digits the subscriber added after the extension: the longest extension that prefixes them.
    longer = InboundIn("smsc-1", "1069000", "13800138000", "1069000" + other.extension + "99", "好")
    assert run(db, store_inbound, [longer], 1_501)[0].account_id == other.id


def test_a_reply_without_extension_goes_to_the_last_sender(db: Database) -> None:
    first = make_account(db)
    second = make_account(db, signature="【其他公司】")
    queue(db, first, ["13800138000"])
    queue(db, second, ["13800138000"])
    queue(db, first, ["13800138001"])
    mo = InboundIn("smsc-1", "1069000", "13800138000", "1069000", "hello")
    assert run(db, store_inbound, [mo], 1_500)[0].account_id == second.id
    stranger = InboundIn("smsc-1", "1069000", "13900139000", "1069000", "who?")
    [unknown] = run(db, store_inbound, [stranger], 1_501)
    assert unknown.account_id is None
    assert len(callback_items(db, "reply")) == 1  # the stranger's reply is stored, owed to nobody


def test_an_opt_out_reply_puts_the_number_on_the_list(db: Database) -> None:
    account = make_account(db)
    mo = InboundIn("smsc-1", "1069000", "13800138000", "1069000" + account.extension, " td ")
    first, second = run(db, store_inbound, [mo, mo], 1_500)  # a redelivered MO changes nothing more
    assert first.opted_out and second.opted_out
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(optouts.c.account_id, optouts.c.mobile)).all()
    assert [tuple(r) for r in rows] == [(account.id, "13800138000")]
