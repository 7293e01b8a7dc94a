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
rejected. A message that has waited longer than the policy's maximum age fails instead of retrying.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import OutboundSms
from smsplatform.connectors.session import WireLog
from smsplatform.dispatch.policy import DispatchPolicy
from smsplatform.store.dispatch import (
    FAILED,
    REJECTED,
    ClaimedMessage,
    Failed,
    Retry,
    SubmitOutcome,
    Submitted,
)

NO_ROUTE = "no route"
REJECTD = "REJECTD"
GAVE_UP_STAT = "UNDELIV"  # what the report says when we gave up: customers know the word


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
) -> Retry | Failed:
    """A retry after the backoff delay, or the end when the message is too old to keep trying."""
    now = clock()
    if now - message.created_at >= policy.max_age:
        return Failed(message.id, error, FAILED, GAVE_UP_STAT, connector, maybe_sent=maybe_sent)
    at = math.ceil(now + policy.retry_delay(message.attempts))
    return Retry(message.id, at, error, connector, maybe_sent)
