"""Replies (MO) into the store: each finds its sub-account, owes it a reply callback, and an opt-out
word puts its number on that sub-account's opt-out list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smsplatform.domain.numbers import normalize_mobile
from smsplatform.domain.optout import is_opt_out_reply
from smsplatform.domain.payloads import reply
from smsplatform.store.callbacks import enqueue_reply
from smsplatform.store.message_rows import is_postgres
from smsplatform.store.schema import accounts, inbound, messages, optouts


@dataclass(frozen=True, slots=True)
class InboundIn:
    """A reply from a subscriber, and the source number of the connector it came through."""

    connector: str
    source_number: str
    mobile: str
    destination: str
    text: str


@dataclass(frozen=True, slots=True)
class StoredReply:
    id: int  # the replyid
    account_id: int | None  # None: no sub-account could be found
    opted_out: bool


def store_inbound(conn: sa.Connection, items: Sequence[InboundIn], now: int) -> list[StoredReply]:
    """Store replies, each with its sub-account; enqueue the reply callback; record opt-outs."""
    stored: list[StoredReply] = []
    for item in items:
        # Whatever the SMSC sent must fit: a reply refused by the store would be redelivered forever.
        mobile = (normalize_mobile(item.mobile) or item.mobile)[:20]
        found = _account_by_extension(conn, item.source_number, item.destination)
        if found is None:
            found = _last_sender(conn, mobile)
        account_id, customer_id = found if found is not None else (None, None)
        reply_id = conn.execute(
            sa.insert(inbound)
            .values(
                customer_id=customer_id,
                account_id=account_id,
                mobile=mobile,
                destination=item.destination[:32],
                content=item.text,
                connector=item.connector[:64],
                received_at=now,
            )
            .returning(inbound.c.id)
        ).scalar_one()
        opted_out = False
        if account_id is not None:
            enqueue_reply(conn, account_id, reply(reply_id, account_id, mobile, item.text, now), now)
            if is_opt_out_reply(item.text):
                _opt_out(conn, account_id, mobile, now)
                opted_out = True
        stored.append(StoredReply(reply_id, account_id, opted_out))
    return stored


def _extension_candidates(source_number: str, destination: str) -> list[str]:
    """What may be an extension in `destination`, longest first (digits after the extension are the
    subscriber's own, which some SMSCs pass on)."""
    if not destination.startswith(source_number):
        return []
    rest = destination[len(source_number) :]
    return [rest[:end] for end in range(len(rest), 0, -1)]


def _account_by_extension(
    conn: sa.Connection, source_number: str, destination: str
) -> tuple[int, int] | None:
    candidates = _extension_candidates(source_number, destination)
    if not candidates:
        return None
    rows = conn.execute(
        sa.select(accounts.c.id, accounts.c.customer_id, accounts.c.extension).where(
            accounts.c.extension.in_(candidates)
        )
    ).all()
    if not rows:
        return None
    best = max(rows, key=lambda r: len(r.extension))
    return int(best.id), int(best.customer_id)


def _last_sender(conn: sa.Connection, mobile: str) -> tuple[int, int] | None:
    """The sub-account that last sent to `mobile`.

    Asked per sub-account, the (account_id, mobile) index answers it without reading the outbox.
    """
    row = conn.execute(
        sa.select(messages.c.account_id, messages.c.customer_id)
        .where(
            messages.c.account_id.in_(sa.select(accounts.c.id).scalar_subquery()), messages.c.mobile == mobile
        )
        .order_by(messages.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row.account_id), int(row.customer_id))


def _opt_out(conn: sa.Connection, account_id: int, mobile: str, now: int) -> None:
    values = {"account_id": account_id, "mobile": mobile, "created_at": now}
    if is_postgres(conn):
        conn.execute(postgresql.insert(optouts).values(values).on_conflict_do_nothing())
    elif conn.dialect.name == "sqlite":
        conn.execute(sqlite.insert(optouts).values(values).on_conflict_do_nothing())
    elif (
        conn.execute(
            sa.select(optouts.c.mobile).where(optouts.c.account_id == account_id, optouts.c.mobile == mobile)
        ).first()
        is None
    ):
        conn.execute(sa.insert(optouts).values(values))
