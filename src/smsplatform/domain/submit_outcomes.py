"""What became of one attempt to submit a message: what the dispatcher hands the store to record."""

from __future__ import annotations

from dataclasses import dataclass

from smsplatform.domain.message_states import FAILED, MessageState


@dataclass(frozen=True, slots=True)
class Submitted:
    """The SMSC accepted every segment."""

    message_id: int
    connector: str
    remote_ids: tuple[str, ...]  # one per segment, in order


@dataclass(frozen=True, slots=True)
class Retry:
    """Not submitted this time; queued again for `at`."""

    message_id: int
    at: int
    error: str
    connector: str | None = None
    maybe_sent: bool = False  # the request may have reached the SMSC (its response never came)


@dataclass(frozen=True, slots=True)
class Failed:
    """Given up before the carrier took it: the message is final, its segments are refunded."""

    message_id: int
    error: str
    state: MessageState = FAILED  # FAILED (we gave up) or REJECTED (the SMSC refused it)
    stat: str = "UNDELIV"  # the status word the report carries
    connector: str | None = None
    maybe_sent: bool = False


SubmitOutcome = Submitted | Retry | Failed
