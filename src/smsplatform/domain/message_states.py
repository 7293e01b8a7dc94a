"""A message's life: its states, the moves between them, and the carrier's word that ends it.

    queued → submitting → submitted → delivered | undelivered | expired | rejected | unknown
                  ↓ ↑           ↖ (a result recorded after the lease ran out: the carrier has it)
                 queued                failed | rejected (refused or given up before the carrier took it)

A state is stored as its value (a plain string column); members compare equal to those strings, so
rows read back need no conversion. Every move the store makes is one of `TRANSITIONS`: its guarded
statements are built from `moves_from`, so a move not listed here cannot be written.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from smsplatform.domain.expiry import EXPIRED_STAT


class MessageState(StrEnum):
    QUEUED = "queued"  # accepted; due for a dispatcher at next_attempt_at
    SUBMITTING = "submitting"  # leased to one dispatcher, perhaps on the wire
    SUBMITTED = "submitted"  # the SMSC took every segment; waiting for their status reports
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    EXPIRED = "expired"  # the carrier gave up delivering it (stat EXPIRED)
    REJECTED = "rejected"  # refused by the SMSC or the carrier
    FAILED = "failed"  # given up before the carrier took it; refunded
    UNKNOWN = "unknown"  # submitted, but no status report came within the receipt timeout


QUEUED = MessageState.QUEUED
SUBMITTING = MessageState.SUBMITTING
SUBMITTED = MessageState.SUBMITTED
DELIVERED = MessageState.DELIVERED
UNDELIVERED = MessageState.UNDELIVERED
EXPIRED = MessageState.EXPIRED
REJECTED = MessageState.REJECTED
FAILED = MessageState.FAILED
UNKNOWN = MessageState.UNKNOWN

#: States a message never leaves; each one owes its customer exactly one status report.
FINAL_STATES: frozenset[MessageState] = frozenset(
    {DELIVERED, UNDELIVERED, EXPIRED, REJECTED, FAILED, UNKNOWN}
)

#: Every state a message may move to from each state.
TRANSITIONS: Mapping[MessageState, frozenset[MessageState]] = {
    # Claimed by a dispatcher; or recorded as submitted by a dispatcher whose lease ran out meanwhile.
    QUEUED: frozenset({SUBMITTING, SUBMITTED}),
    # Given back (retry, lease ran out, dispatcher stopped), taken by the SMSC, or ended before it.
    SUBMITTING: frozenset({QUEUED, SUBMITTED, FAILED, REJECTED}),
    # Its parts' status reports ended it, or none came in time.
    SUBMITTED: frozenset({DELIVERED, UNDELIVERED, EXPIRED, REJECTED, UNKNOWN}),
    **{state: frozenset() for state in FINAL_STATES},
}


def may_move(before: str, after: str) -> bool:
    """Whether a message in state `before` may move to `after`."""
    try:
        return MessageState(after) in TRANSITIONS[MessageState(before)]
    except ValueError:
        return False


def moves_from(after: MessageState, *before: MessageState) -> tuple[MessageState, ...]:
    """`before`, the states a statement moves to `after` from, once each is checked to be allowed.

    Called where the store's statements are built (once, at import): a statement that would make a
    move `TRANSITIONS` does not list fails there, before it ever runs.
    """
    for state in before:
        if after not in TRANSITIONS[state]:
            raise ValueError(f"a message may not move from {state} to {after}")
    return before


# --- the carrier's word -------------------------------------------------------------------------

#: The status word of a delivered segment, and of one the SMSC or the carrier refused.
DELIVRD = "DELIVRD"
REJECTD = "REJECTD"
#: Status words that are not the end of the story (SMPP sends them as intermediate notifications).
INTERMEDIATE_STATS = frozenset({"ENROUTE", "ACCEPTD"})
#: The state a final status word ends its message in; any other word means undelivered.
STATE_OF_STAT: Mapping[str, MessageState] = {DELIVRD: DELIVERED, EXPIRED_STAT: EXPIRED, REJECTD: REJECTED}


def state_of_stat(stat: str) -> MessageState:
    """The state a message ends in when its status word is `stat`."""
    return STATE_OF_STAT.get(stat, UNDELIVERED)


def message_stat(parts: list[tuple[int, str, str]]) -> tuple[str, str] | None:
    """(stat, errcode) of a message whose parts are (part number, stat, err): its first failing
    part's, or DELIVRD with the first part's err; None while a part has no final word yet.

    Sorts `parts` in place (the caller's list is its own, and a copy would cost on every receipt).
    """
    if len(parts) == 1:  # most messages
        _, stat, err = parts[0]
        return (stat, err) if stat else None
    if any(not stat for _, stat, _ in parts):
        return None
    parts.sort()
    for _, stat, err in parts:
        if stat != DELIVRD:
            return stat, err
    return DELIVRD, parts[0][2]
