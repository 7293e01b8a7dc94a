"""Submitting one claimed message: trying its route's links in order, judging what came back.

The rules, in the order they apply to each link's answer:

- accepted: done (Submitted); a message the SMSC accepted is never submitted again.
- the request may have reached the SMSC (its response never came, or some segments were taken):
  no other link may get it, or the subscriber could receive it twice. A transient error is retried
  later on the same route (a possible duplicate, counted in `maybe_sent`); a refusal is final.
- the link is down (no bound session within the bind wait, or stopping): fail over to the next.
- refused for good (invalid number, bad content...): fail over to the next link.
- any other transient error (throttled, SMSC busy): retry later, with exponential backoff.

When every link was tried: retry later if any of them failed only transiently, else the message is
rejected.

A message past its kind's maximum age (`expires_at`) is not submitted at all: it fails as expired,
and is refunded. Its retries are never scheduled past that moment, so it comes up in time to expire.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import OutboundSms
from smsplatform.connectors.session import WireLog
from smsplatform.dispatch.policy import DispatchPolicy
from smsplatform.domain.expiry import EXPIRED_STAT, MAX_AGE_ERRCODE
from smsplatform.domain.message_states import FAILED, REJECTD, REJECTED
from smsplatform.domain.submit_outcomes import Failed, Retry, SubmitOutcome, Submitted
from smsplatform.store.claims import ClaimedMessage

NO_ROUTE = "no route"


async def submit_message(
    message: ClaimedMessage,
    links: Sequence[Connector],
    policy: DispatchPolicy,
    clock: Callable[[], float],
    wire_log: WireLog | None = None,
) -> SubmitOutcome:
    """Submit `message` over the first link of `links` that takes it; see the module docstring.

    `wire_log` (the dispatcher's submit journal) hears of each segment as it goes and is answered.
    """
    if message.expires_at is not None and clock() >= message.expires_at:
        return Failed(message.id, MAX_AGE_ERRCODE, FAILED, EXPIRED_STAT)
    error = NO_ROUTE
    connector: str | None = None
    transient = not links  # no link at all: the configuration may yet change
    for link in links:
        sms = OutboundSms(
            key=message.id,
            source=link.config.source_number + message.extension,
            destination=message.mobile,
            text=message.content,
        )
        result = await link.submit(sms, wire_log)
        if result.ok:
            return Submitted(message.id, link.name, result.remote_ids)
        error, connector = result.error, link.name
        if result.maybe_sent:
            if result.transient:
                return later(message, policy, clock, error, connector, maybe_sent=True)
            return Failed(message.id, error, REJECTED, REJECTD, connector, maybe_sent=True)
        if result.transient and not link_down(link):
            return later(message, policy, clock, error, connector)
        transient = transient or result.transient
    if transient:
        return later(message, policy, clock, error, connector)
    return Failed(message.id, error, REJECTED, REJECTD, connector)


def link_down(link: Connector) -> bool:
    """Whether, after a transient failure, the link itself is unusable (rather than busy)."""
    return link.stats().state != "bound"


def later(
    message: ClaimedMessage,
    policy: DispatchPolicy,
    clock: Callable[[], float],
    error: str,
    connector: str | None,
    *,
    maybe_sent: bool = False,
) -> Retry:
    """A retry after the backoff delay, or when the message expires, whichever comes first (it is
    then taken up once more, and expires without being sent)."""
    at = math.ceil(clock() + policy.retry_delay(message.attempts))
    if message.expires_at is not None:
        at = min(at, message.expires_at)
    return Retry(message.id, at, error, connector, maybe_sent)
