"""Test data for dispatch: a sub-account with callback URLs and messages queued through the outbox."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from smsplatform.domain.segments import count_segments
from smsplatform.store.accounts import Account, create_account
from smsplatform.store.customers import create_customer
from smsplatform.store.database import Database
from smsplatform.store.outbox import Accepted, NewMessage, SendRequest, accept_send
from smsplatform.store.schema import accounts, callbacks, message_parts, messages

T = TypeVar("T")

SIGNATURE = "【进制数据】"


def run(db: Database, fn: Callable[..., T], *args: Any) -> T:
    """One unit of work in its own transaction, the way Database.write runs it."""
    with db.engine.begin() as conn:
        return fn(conn, *args)


def make_account(
    db: Database,
    *,
    signature: str = SIGNATURE,
    statusurl: str = "https://example.com/status",
    replyurl: str = "https://example.com/reply",
    totalnum: int = 10_000,
) -> Account:
    def create(conn: sa.Connection) -> Account:
        customer = create_customer(conn, f"customer {signature}", totalnum)
        fields = {
            "company": "进制数据",
            "signature": signature,
            "statusurl": statusurl,
            "replyurl": replyurl,
            "totalnum": totalnum,
        }
        return create_account(conn, customer.id, fields, approve=True)

    return run(db, create)


def queue(
    db: Database,
    account: Account,
    mobiles: Sequence[str],
    text: str = "您的验证码是1234",
    *,
    carrier: str = "mobile",
    now: int = 1_000,
) -> list[int]:
    """Accept one send to `mobiles` (debiting the quota as the API does); the new message ids."""
    content = SIGNATURE + text if account.signature == SIGNATURE else account.signature + text
    new = [NewMessage(m, content, count_segments(content), "notification", carrier) for m in mobiles]

    def accept(conn: sa.Connection) -> list[int]:
        outcome = accept_send(conn, SendRequest(account.customer_id, account.id, new, now))
        assert isinstance(outcome, Accepted)
        send_id = int(outcome.result["msgid"])
        query = sa.select(messages.c.id).where(messages.c.send_id == send_id).order_by(messages.c.id)
        return list(conn.execute(query).scalars())

    return run(db, accept)


def message(db: Database, message_id: int) -> sa.Row[Any]:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(messages).where(messages.c.id == message_id)).one()


def parts(db: Database, message_id: int) -> list[sa.Row[Any]]:
    with db.engine.connect() as conn:
        query = sa.select(message_parts).where(message_parts.c.message_id == message_id)
        return list(conn.execute(query.order_by(message_parts.c.part)))


def usednum(db: Database, account_id: int) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(sa.select(accounts.c.usednum).where(accounts.c.id == account_id)).scalar_one()
        )


def callback_items(db: Database, kind: str = "report") -> list[dict[str, str]]:
    with db.engine.connect() as conn:
        query = sa.select(callbacks.c.payload).where(callbacks.c.kind == kind).order_by(callbacks.c.id)
        return [json.loads(payload) for payload in conn.execute(query).scalars()]
