"""The seam between the protocol-neutral SMSC core (`server.py`) and one protocol.

A dialect turns the PDUs an SMSC receives into plain values (a bind, a submit) and builds the PDUs
it sends (answers, receipts, MO). How bytes become PDUs (`framing`) is the protocol's own and shared
with the connector (`protocols/link/`). It is sans-IO; the core owns sockets, accounts, outcomes, delays,
faults and the record of what arrived.

Adding a protocol: with its framing in `protocols/link/<protocol>.py` (shared with the connector),
write `simulator/<protocol>.py` with an SmscDialect subclass that sets `framing` and call
`runner.register_dialect("<protocol>", factory)` at import, the factory taking the options mapping
({"id_format": ..., "version": ...}). An SMSC that delivers over its own connection (SGIP) also
implements `bind_request`/`bind_accepted` and is pointed at the ESME's listener with
`SmscServer.connect_back`, or for every account by setting `callback` from its options.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Generic, TypeVar

from smsplatform.protocols.concat import ConcatInfo
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import FramedPdu, FrameReader, Framing, PduKind
from smsplatform.protocols.text import TextEncoding

P = TypeVar("P", bound=FramedPdu)


class ConnectBackUnsupported(RuntimeError):
    """Only some protocols (SGIP) have the SMSC log in to the ESME's own listener."""


class BindStatus(IntEnum):
    OK = 0
    BAD_CREDENTIALS = 1
    ALREADY_BOUND = 2


class SubmitStatus(IntEnum):
    OK = 0
    THROTTLED = 1
    NOT_BOUND = 2
    INVALID = 3  # content the SMSC cannot use


@dataclass(frozen=True, slots=True)
class BindRequest:
    system_id: str
    password: str
    transmits: bool  # may submit
    receives: bool  # wants receipts and MO


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    source: str
    destination: str
    text_bytes: bytes  # this segment's user data without any concatenation header
    encoding: TextEncoding | None  # None: a coding the simulator does not decode (shown with U+FFFD)
    concat: ConcatInfo | None  # where this segment belongs when the message is long
    want_receipt: bool
    failure_receipt_only: bool = False  # a receipt only when the outcome is not DELIVRD
    message_id: str = ""  # the id the protocol itself gives the segment (SGIP: its sequence); "" if none


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """An ESME's listener that the SMSC connects to with delivers (SGIP's model)."""

    host: str
    port: int
    login: str
    password: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery receipt to send for one accepted segment."""

    message_id: str
    source: str  # the submit's source (the receipt goes back to it)
    destination: str  # the submit's destination
    stat: str
    err: str
    submit_time: float  # unix seconds
    done_time: float
    text_head: str  # the first characters of the message, as receipts quote them


@dataclass(frozen=True, slots=True)
class MoPart:
    """One deliver of a mobile-originated message; long ones carry a concatenation header."""

    source: str
    destination: str
    payload: bytes  # user data, with the header when udhi
    encoding: TextEncoding
    udhi: bool


Outgoing = Receipt | MoPart


class SmscDialect(ABC, Generic[P]):
    """Everything protocol-specific about an SMSC."""

    protocol: ClassVar[str]
    callback: CallbackTarget | None = None  # where to deliver for every account, from the options
    framing: Framing[P]  # the protocol's, for the SMSC's end: set by each dialect's __init__

    def __init__(self, *, id_format: str = "hex") -> None:
        if id_format not in ("hex", "dec"):
            raise ValueError("id_format is 'hex' or 'dec'")
        self.id_format = id_format

    # -- framing: the protocol's, shared with the connector's end (protocols/link) ------------------

    def new_reader(self) -> FrameReader[P]:
        return self.framing.new_reader()

    def encode(self, pdu: P) -> bytes:
        return self.framing.encode(pdu)

    def classify(self, pdu: P) -> PduKind:
        return self.framing.classify(pdu)

    def key(self, pdu: P) -> Hashable:
        return self.framing.key(pdu)

    def framing_lost(self, error: ProtocolError) -> bool:
        return self.framing.framing_lost(error)

    def error_response(self, error: ProtocolError) -> P | None:
        return self.framing.error_response(error)

    @abstractmethod
    def reject(self, pdu: P) -> P | None:
        """The answer to a request the SMSC does not handle; None to ignore it."""

    @abstractmethod
    def read_bind(self, pdu: P) -> BindRequest: ...

    @abstractmethod
    def bind_response(self, pdu: P, status: BindStatus) -> P: ...

    def answer_bind(self, pdu: P, request: BindRequest, secret: str | None) -> tuple[bool, P]:
        """Judge a bind against the account's secret (None: no such account): (accepted, answer).

        The default compares the plain password. Protocols that send a digest of the secret instead
        (CMPP, SMGP) override this to recompute it, and to prove the secret back in the answer.
        """
        accepted = secret is not None and request.password == secret
        return accepted, self.bind_response(pdu, BindStatus.OK if accepted else BindStatus.BAD_CREDENTIALS)

    @abstractmethod
    def read_submit(self, pdu: P) -> SubmitRequest:
        """Raise ProtocolError for content the SMSC cannot use; it is answered as INVALID."""

    @abstractmethod
    def submit_response(self, pdu: P, message_id: str, status: SubmitStatus) -> P: ...

    def submit_response_frame(self, pdu: P, message_id: str, status: SubmitStatus) -> bytes:
        """`submit_response`, encoded: what the SMSC sends (a protocol may write it directly)."""
        return self.encode(self.submit_response(pdu, message_id, status))

    @abstractmethod
    def message_id(self, number: int) -> str:
        """The id the SMSC gives its `number`th accepted segment, in this dialect's id_format."""

    @abstractmethod
    def mo_encoding(self, text: str) -> TextEncoding:
        """The coding for an MO text (the simulator splits it with the shared concat helpers)."""

    @abstractmethod
    def deliver(self, sequence: int, item: Outgoing) -> P: ...

    def deliver_frame(self, sequence: int, item: Outgoing) -> tuple[Hashable, bytes]:
        """`deliver` with its key, encoded: what the SMSC sends (a protocol may write it directly)."""
        pdu = self.deliver(sequence, item)
        return self.key(pdu), self.encode(pdu)

    @abstractmethod
    def deliver_accepted(self, pdu: P) -> bool:
        """Whether the response to a deliver acknowledges it (else it is sent again later)."""

    def bind_request(self, sequence: int, system_id: str, password: str) -> P:
        """The SMSC's own login to an ESME's listener (SmscServer.connect_back; SGIP's model)."""
        raise ConnectBackUnsupported(f"a {self.protocol} SMSC does not connect back")

    def bind_accepted(self, pdu: P) -> bool:
        """Whether the ESME accepted `bind_request`."""
        raise ConnectBackUnsupported(f"a {self.protocol} SMSC does not connect back")

    @abstractmethod
    def link_test(self, sequence: int) -> P | None:
        """A heartbeat request (SmscServer.ping); None for a protocol without one."""

    @abstractmethod
    def link_test_response(self, pdu: P) -> P: ...

    @abstractmethod
    def unbind_response(self, pdu: P) -> P: ...
