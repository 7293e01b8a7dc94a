"""Replies (MO) from subscribers and the opt-out lists they make, searchable by the operator."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.messages import search_mobile
from smsplatform.store import search as store
from smsplatform.store.search import OptOutPage, OptOutRow, ReplyPage, ReplyRow

__all__ = ["OptOutPage", "OptOutRow", "ReplyPage", "ReplyRow", "search_optouts", "search_replies"]


def search_replies(
    conn: sa.Connection,
    actor: Actor,
    *,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    text: str | None = None,
    since: int | None = None,
    until: int | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> ReplyPage:
    """Replies matching every filter given, newest first (`text`: a part of the content); page on with
    the page's `next_before_id`. Replies no sub-account could be found for show no customer."""
    actor.require(Permission.VIEW)
    return store.find_replies(
        conn,
        mobile=None if mobile is None else search_mobile(mobile),
        customer_id=customer_id,
        account_id=account_id,
        text=text or None,
        since=since,
        until=until,
        limit=limit,
        before_id=before_id,
    )


def search_optouts(
    conn: sa.Connection,
    actor: Actor,
    *,
    mobile: str | None = None,
    customer_id: int | None = None,
    account_id: int | None = None,
    limit: int = 50,
    before: str | None = None,
) -> OptOutPage:
    """Numbers that opted out, by sub-account; page on with the page's `next_before` (a cursor)."""
    actor.require(Permission.VIEW)
    return store.find_optouts(
        conn,
        mobile=None if mobile is None else search_mobile(mobile),
        customer_id=customer_id,
        account_id=account_id,
        limit=limit,
        before=before or None,
    )
