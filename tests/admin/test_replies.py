"""Replies and opt-outs as an operator searches them: any spelling of a number, names beside ids."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from smsplatform.admin import replies
from smsplatform.admin.actors import Actor, Role, Via
from smsplatform.store.database import Database
from smsplatform.store.schema import optouts
from tests.store.test_search import T0, add_reply, seed

REVIEWER = Actor("rita", Role.REVIEWER, Via.API)


def test_replies_are_found_by_number_in_any_spelling_and_by_text(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_reply(conn, account_id=11, mobile="13800138000", content="TD", received_at=T0, reply_id=1)
        add_reply(
            conn, account_id=12, mobile="13800138000", content="好的，收到", received_at=T0 + 5, reply_id=2
        )
        add_reply(conn, account_id=21, mobile="13900139000", content="收到", received_at=T0 + 9, reply_id=3)
    with db.engine.connect() as conn:
        by_number = replies.search_replies(conn, REVIEWER, mobile="+8613800138000")
        by_text = replies.search_replies(conn, REVIEWER, text="收到", customer_id=1)
        empty_form = replies.search_replies(conn, REVIEWER, text="", limit=2)
        with pytest.raises(ValueError, match="1 to"):
            replies.search_replies(conn, REVIEWER, limit=10_000)
    assert [(r.id, r.account_signature) for r in by_number.rows] == [(2, "【阿克米营销】"), (1, "【阿克米】")]
    assert [(r.id, r.customer_name, r.content) for r in by_text.rows] == [(2, "Acme", "好的，收到")]
    assert [r.id for r in empty_form.rows] == [3, 2] and empty_form.next_before_id == 2


def test_opt_outs_are_found_by_number_across_sub_accounts(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        conn.execute(
            sa.insert(optouts),
            [
                {"account_id": 11, "mobile": "13800138000", "created_at": T0},
                {"account_id": 21, "mobile": "13800138000", "created_at": T0 + 1},
                {"account_id": 21, "mobile": "13900139000", "created_at": T0 + 2},
            ],
        )
    with db.engine.connect() as conn:
        page = replies.search_optouts(conn, REVIEWER, mobile="008613800138000")
        first = replies.search_optouts(conn, REVIEWER, limit=2, before="")
        rest = replies.search_optouts(conn, REVIEWER, limit=2, before=first.next_before)
    assert [(r.customer_name, r.account_signature, r.created_at) for r in page.rows] == [
        ("Globex", "【环球】", T0 + 1),
        ("Acme", "【阿克米】", T0),
    ]
    assert [(r.account_id, r.mobile) for r in first.rows + rest.rows] == [
        (21, "13900139000"),
        (21, "13800138000"),
        (11, "13800138000"),
    ]
    assert rest.next_before is None
