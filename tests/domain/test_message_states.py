"""The message state machine: which moves are allowed, and how a carrier's word ends a message."""

from __future__ import annotations

import pytest

from smsplatform.domain.message_states import (
    DELIVERED,
    EXPIRED,
    FAILED,
    FINAL_STATES,
    QUEUED,
    REJECTED,
    SUBMITTED,
    SUBMITTING,
    UNDELIVERED,
    UNKNOWN,
    MessageState,
    may_move,
    message_stat,
    moves_from,
    state_of_stat,
)


def test_states_are_stored_as_their_lowercase_names() -> None:
    assert [state.value for state in MessageState] == [
        "queued",
        "submitting",
        "submitted",
        "delivered",
        "undelivered",
        "expired",
        "rejected",
        "failed",
        "unknown",
    ]
    assert MessageState("delivered") == "delivered"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (QUEUED, SUBMITTING),
        (SUBMITTING, QUEUED),
        (SUBMITTING, SUBMITTED),
        (SUBMITTING, FAILED),
        (SUBMITTING, REJECTED),
        (QUEUED, SUBMITTED),
        *((SUBMITTED, end) for end in (DELIVERED, UNDELIVERED, EXPIRED, REJECTED, UNKNOWN)),
    ],
)
def test_the_moves_of_a_message_on_its_way(before: MessageState, after: MessageState) -> None:
    assert may_move(before, after)
    assert may_move(before.value, after.value)  # as read from a row


@pytest.mark.parametrize(
    ("before", "after"),
    [(QUEUED, DELIVERED), (SUBMITTED, QUEUED), (SUBMITTED, FAILED), (QUEUED, FAILED), (SUBMITTING, UNKNOWN)],
)
def test_moves_that_skip_or_go_back_are_not_allowed(before: MessageState, after: MessageState) -> None:
    assert not may_move(before, after)
    with pytest.raises(ValueError, match=f"from {before} to {after}"):
        moves_from(after, before)


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
def test_a_final_state_is_never_left(final: MessageState) -> None:
    assert not any(may_move(final, other) for other in MessageState)


def test_an_unknown_state_allows_no_move() -> None:
    assert not may_move("lost", QUEUED)
    assert not may_move(QUEUED, "lost")


@pytest.mark.parametrize(
    ("stat", "state"),
    [
        ("DELIVRD", DELIVERED),
        ("EXPIRED", EXPIRED),
        ("REJECTD", REJECTED),
        ("UNDELIV", UNDELIVERED),
        ("X", UNDELIVERED),
    ],
)
def test_the_carriers_word_decides_the_final_state(stat: str, state: MessageState) -> None:
    assert state_of_stat(stat) is state


def test_a_long_message_ends_with_its_first_failing_segments_word() -> None:
    assert message_stat([(2, "UNDELIV", "E2"), (1, "DELIVRD", "0"), (3, "EXPIRED", "E3")]) == (
        "UNDELIV",
        "E2",
    )
    assert message_stat([(2, "DELIVRD", "b"), (1, "DELIVRD", "a")]) == ("DELIVRD", "a")
    assert message_stat([(1, "DELIVRD", "a"), (2, "", "")]) is None  # a segment is still open
    assert message_stat([(1, "", "")]) is None
