"""/callbacks, /replies and /optouts: customers' receivers that are failing and retrying them now;
replies from subscribers and the opt-outs they made."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import receivers, replies
from smsplatform.admin.actors import Actor
from smsplatform.admin.api.endpoint import Endpoint


@dataclass(frozen=True, slots=True)
class Retried:
    callbacks: int  # callbacks that were waiting for a later retry and are due now


def retry_now(
    conn: sa.Connection, actor: Actor, account_id: int | None = None, host: str | None = None
) -> Retried:
    """Retry now what waits for a later retry: a sub-account's receivers, a host's, or (neither given)
    every receiver's."""
    return Retried(receivers.retry_now(conn, actor, account_id=account_id, host=host))


_PAGE = {
    "limit": "At most this many rows (1–500)",
    "customer_id": "Only this customer's",
    "account_id": "Only this sub-account's",
    "mobile": "The number, in any accepted spelling (+86…)",
}

ENDPOINTS = [
    Endpoint("GET", "/callbacks/failing", receivers.failing),
    Endpoint("GET", "/callbacks/backlog", receivers.backlog),
    Endpoint(
        "POST",
        "/callbacks/retry",
        retry_now,
        params={"account_id": "Only this sub-account's receivers", "host": "Only receivers at this host"},
    ),
    Endpoint(
        "GET",
        "/replies",
        replies.search_replies,
        "Search replies (MO), newest first",
        description="Page on by passing the answer's `next_before_id` as `before_id`.",
        params={
            **_PAGE,
            "text": "A part of the reply's content",
            "since": "Received at or after this unix time",
            "until": "Received before this unix time",
            "before_id": "Where the page starts",
        },
    ),
    Endpoint(
        "GET",
        "/optouts",
        replies.search_optouts,
        "Search the numbers that opted out, by sub-account",
        description="Page on by passing the answer's `next_before` as `before`.",
        params={**_PAGE, "before": "Where the page starts (the previous page's next_before)"},
    ),
]
