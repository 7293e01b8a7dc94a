"""What goes into a connector and what comes out of it, independent of the protocol on the wire."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """One logical message; the connector may put it on the wire as several segments."""

    key: int  # our message row id; opaque to the connector
    source: str  # the connector's source number + the sub-account's extension code
    destination: str  # 11-digit mobile
    text: str
    want_receipt: bool = True


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The SMSC's answer to every segment of one OutboundSms."""

    key: int
    ok: bool
    remote_ids: tuple[str, ...]  # one canonical message id per segment, in order (empty when not ok)
    transient: bool  # when not ok: worth retrying (throttled, timeout, link lost before the response)
    error: str  # short code/text for logs and the errcode field, e.g. "0x00000058" or "timeout"
    maybe_sent: bool  # a request left our socket and its response never came: the SMSC may have it


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A status report from the SMSC; remote_id equals the id SubmitResult gave for that segment."""

    remote_id: str
    stat: str  # DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, UNKNOWN, ACCEPTD...
    err: str
    destination: str
    submit_time: str
    done_time: str
    connector: str


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A mobile-originated message (MO), reassembled when it came in parts."""

    source: str  # the subscriber
    destination: str  # the full number the subscriber replied to (source number + extension)
    text: str
    connector: str


@dataclass(frozen=True, slots=True)
class ConnectorStats:
    """A snapshot for health pages and metrics.

    Counters count PDUs on the wire (segments), not logical messages, because that is what the
    carrier's window and rate limits see.

    `state` is "bound", "connecting" or "backoff" (a link retrying alternates between these two),
    "stopping" (unbinding, in-flight submits still being answered) or "stopped". `since` is when the
    link went into its present condition: bound, down (connecting and backoff count as one: it is
    when the link stopped being bound, not the latest retry), stopping or stopped.
    """

    name: str
    state: str
    in_flight: int  # submit requests sent and not yet answered, over all sessions
    sent: int  # submit segments the SMSC accepted
    errors: int  # submit segments rejected, timed out or lost with the link
    received_reports: int
    received_mo: int
    timeouts: int = 0
    late_responses: int = 0  # responses that came after their request had timed out
    reconnects: int = 0  # sessions bound after the first one
    last_error: str = ""  # why the link last failed to connect or bind, or was dropped
    last_error_at: float | None = None  # Unix time of last_error
    since: float = 0.0  # Unix time the link went into its present condition (see above)
    binds: int = 0  # sessions bound now, those the SMSC opened to us (SGIP) included
    window: int = 0  # unanswered submits a session may have; in_flight is how many it has
    submit_rate: float = 0.0  # submit segments the SMSC accepted per second, over the last interval
