"""The seam between the shared link engine and one protocol.

The engine (`session.py` on the sans-IO link core of `protocols/link/core.py`, and `link.py`) owns
sockets, the window, the rate cap, timeouts, heartbeats and reconnects; an adapter owns everything
that differs per protocol: which PDU is which, how to build the requests and answers, and how to read
results, receipts and MO. Adapters are sans-IO: they only turn PDUs into values and values into PDUs,
so a new protocol is one small module. How bytes become PDUs (`framing`) is the protocol's own and
shared with the simulator (`protocols/link/`).

One adapter instance serves one connector (all its sessions), so state that spans sessions, such
as the concatenation reference counter or partial MO, lives on the adapter.

Adding a protocol: write its framing in `protocols/link/<protocol>.py` (shared with the simulator),
then `connectors/<protocol>.py` with a ProtocolAdapter subclass that sets `framing` and call
`registry.register_adapter("<protocol>", TheAdapter)` at import; `create_connector` imports the
module by the protocol's name. Protocol defaults are class attributes (CMPP: response timeout 60 s,
3 tries); versions and other options come from ConnectorConfig.extra. A protocol whose SMSC
connects back (SGIP) returns its listening address from `listen_address` and judges the SMSC's
login in `accept_bind` (its listener's limits may come from its options: `listener_limits`); one
without a heartbeat returns None from `link_test`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import ClassVar, Generic, TypeVar

from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.protocols.admission import ListenerLimits
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import FramedPdu, FrameReader, Framing, PduKind

__all__ = [
    "AckStatus",
    "BindAcceptance",
    "BindResult",
    "Delivery",
    "FrameReader",
    "PduKind",
    "ProtocolAdapter",
    "RequestFrame",
    "SegmentAnswer",
    "SessionRole",
]

P = TypeVar("P", bound=FramedPdu)

# A request ready to send: the key its response will be matched by, and its whole frame.
RequestFrame = tuple[Hashable, bytes]


class SessionRole(StrEnum):
    """What a session may do once bound."""

    TRANSCEIVER = "transceiver"
    TRANSMITTER = "transmitter"
    RECEIVER = "receiver"

    @property
    def submits(self) -> bool:
        return self is not SessionRole.RECEIVER

    @property
    def receives(self) -> bool:
        return self is not SessionRole.TRANSMITTER


class AckStatus(IntEnum):
    """How to acknowledge a deliver."""

    OK = 0  # stored (or nothing to store)
    RETRY = 1  # not stored this time: the SMSC should redeliver later
    REJECT = 2  # unusable content: the SMSC should not redeliver


@dataclass(frozen=True, slots=True)
class BindResult:
    """The judgement of a bind/login response."""

    ok: bool
    error: str = ""  # e.g. "status 0x0000000E (invalid password)" when not ok


@dataclass(frozen=True, slots=True)
class SegmentAnswer:
    """The judgement of the response to one submit segment."""

    ok: bool
    remote_id: str  # canonical text form; "" when not ok
    transient: bool = False  # when not ok: retrying later may succeed (throttled, queue full)
    error: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What an incoming deliver carries: a report, a (complete) MO, or neither (an MO part so far)."""

    report: DeliveryReport | None = None
    inbound: InboundSms | None = None


@dataclass(frozen=True, slots=True)
class BindAcceptance(Generic[P]):
    """The answer to a peer's bind on a session we accepted; role None means refused."""

    response: P
    role: SessionRole | None


class ProtocolAdapter(ABC, Generic[P]):
    """Everything protocol-specific about a link. See the module docstring."""

    protocol: ClassVar[str]
    link_test_name: ClassVar[str] = "link test"  # as the protocol's spec calls it, for the operator
    default_response_timeout: ClassVar[float] = 30.0
    default_response_tries: ClassVar[int] = 1
    default_enquire_interval: ClassVar[float] = 30.0

    framing: Framing[P]  # the protocol's, for the ESME's end: set by each adapter's __init__

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config

    # -- sessions -------------------------------------------------------------------------------

    def session_roles(self) -> tuple[SessionRole, ...]:
        """The outgoing sessions one connector keeps bound; the first that submits carries submits."""
        if self.config.bind_mode is BindMode.TRANSMITTER_RECEIVER:
            return (SessionRole.TRANSMITTER, SessionRole.RECEIVER)
        return (SessionRole.TRANSCEIVER,)

    def listen_address(self) -> tuple[str, int] | None:
        """Where to accept the SMSC's own connections (SGIP delivers that way); None for no listener."""
        return None

    def listener_limits(self, defaults: ListenerLimits) -> ListenerLimits:
        """The limits of that listener: the process's `defaults`, or this link's own options."""
        return defaults

    # -- framing: the protocol's, shared with the simulator's end (protocols/link) -----------------

    def new_reader(self) -> FrameReader[P]:
        """A fresh frame reader for one connection."""
        return self.framing.new_reader()

    def encode(self, pdu: P) -> bytes:
        """One whole frame."""
        return self.framing.encode(pdu)

    def classify(self, pdu: P) -> PduKind:
        return self.framing.classify(pdu)

    def key(self, pdu: P) -> Hashable:
        """What matches a response to its request (the sequence number; SGIP's triple)."""
        return self.framing.key(pdu)

    def framing_lost(self, error: ProtocolError) -> bool:
        """Whether the byte stream can no longer be split into frames after `error`."""
        return self.framing.framing_lost(error)

    def error_response(self, error: ProtocolError) -> P | None:
        """The answer to a well-framed PDU that could not be decoded (generic_nack); None for none."""
        return self.framing.error_response(error)

    @abstractmethod
    def reject(self, pdu: P) -> P | None:
        """The answer to a request the engine does not handle in this state; None to ignore it."""

    # -- login, heartbeat, logout ---------------------------------------------------------------

    @abstractmethod
    def bind_request(self, role: SessionRole, sequence: int) -> P: ...

    @abstractmethod
    def bind_result(self, pdu: P) -> BindResult:
        """Judge the response to `bind_request` (any response matched to it, error ones included).

        A refusal's error names the status and what it means, e.g. "status 0x0000000E (invalid
        password)": it is what the operator reads when a link will not come up.
        """

    def accept_bind(self, pdu: P) -> BindAcceptance[P] | None:
        """Judge a peer's bind on a session we accepted; None when this protocol never accepts."""
        return None

    @abstractmethod
    def link_test(self, sequence: int) -> P | None:
        """The heartbeat request; None for a protocol without one (SGIP), which then sends none."""

    @abstractmethod
    def link_test_response(self, pdu: P) -> P: ...

    @abstractmethod
    def unbind(self, sequence: int) -> P: ...

    @abstractmethod
    def unbind_response(self, pdu: P) -> P: ...

    # -- traffic --------------------------------------------------------------------------------

    @abstractmethod
    def build_submits(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[P]:
        """The submit PDU for each segment of `sms`, in order, each with a sequence from `next_sequence`."""

    def submit_frames(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[RequestFrame]:
        """The key and whole frame of each segment of `sms`: what `build_submits` gives, encoded.

        This is what the engine sends. A protocol may write the frames without building PDUs first,
        as long as the bytes are the same.
        """
        return [(self.key(pdu), self.encode(pdu)) for pdu in self.build_submits(sms, next_sequence)]

    @abstractmethod
    def read_submit_response(self, pdu: P) -> SegmentAnswer:
        """Judge the response matched to one submit (generic error responses included)."""

    @abstractmethod
    def read_deliver(self, pdu: P) -> Delivery:
        """Turn a deliver into a report or MO; raise ProtocolError when its content is unusable."""

    @abstractmethod
    def deliver_response(self, pdu: P, status: AckStatus) -> P:
        """The acknowledgement of a deliver."""

    def deliver_response_frame(self, pdu: P, status: AckStatus) -> bytes:
        """`deliver_response`, encoded: what the engine sends (a protocol may write it directly)."""
        return self.encode(self.deliver_response(pdu, status))
