"""How one protocol's byte stream becomes PDUs and back: the same for both ends of a link.

The connector (an ESME) and the simulator (an SMSC) read, write and sort the same PDUs; only which
requests each end receives differs, and SMPP's data_sm is the one request that travels both ways (a
submit towards the SMSC, a deliver towards the ESME), so a framing object knows which end it serves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from enum import IntEnum, StrEnum
from typing import ClassVar, Generic, Protocol, TypeVar

from smsplatform.protocols.errors import ProtocolError

__all__ = ["FrameReader", "FramedPdu", "Framing", "LinkEnd", "PduKind"]

P_co = TypeVar("P_co", covariant=True)


class FramedPdu(Protocol):
    """What every protocol's PDU has in its header."""

    @property
    def command_id(self) -> int: ...

    @property
    def sequence(self) -> Hashable: ...


P = TypeVar("P", bound=FramedPdu)


class LinkEnd(StrEnum):
    """Which end of a link a framing object serves."""

    ESME = "esme"  # submits messages, receives reports and MO (the connector)
    SMSC = "smsc"  # receives submits, sends reports and MO (the simulator)


class PduKind(IntEnum):
    """What an incoming PDU is to the link."""

    RESPONSE = 1  # answers one of our requests; matched to it by `key`
    LINK_TEST = 2  # the peer's heartbeat
    UNBIND = 3  # the peer logs out
    DELIVER = 4  # a report or MO, towards the ESME
    BIND = 5  # the peer logs in
    OTHER = 6  # anything else
    SUBMIT = 7  # a message, towards the SMSC


class FrameReader(Protocol[P_co]):
    """The sans-IO framing every codec's PduReader provides."""

    def receive_data(self, data: bytes) -> None: ...

    def next_pdu(self) -> P_co | None: ...

    @property
    def buffered(self) -> int:
        """Octets received and not yet returned as PDUs (part of a frame, when next_pdu gave None)."""
        ...


class Framing(ABC, Generic[P]):
    """Reader factory, encoder, classification, response key and error answers of one protocol."""

    protocol: ClassVar[str]
    # The requests a peer may send, by command id (SMPP's data_sm is sorted by `end`).
    requests: ClassVar[Mapping[int, PduKind]] = {}

    def __init__(self, end: LinkEnd) -> None:
        self.end = end
        self._kinds: Mapping[int, PduKind] = self.request_kinds(end)

    def request_kinds(self, end: LinkEnd) -> Mapping[int, PduKind]:
        """The requests `end` receives, by command id."""
        return self.requests

    @abstractmethod
    def new_reader(self) -> FrameReader[P]:
        """A fresh frame reader for one connection."""

    @abstractmethod
    def encode(self, pdu: P) -> bytes:
        """One whole frame."""

    def classify(self, pdu: P) -> PduKind:
        # All four protocols mark a response by the top bit of its command id.
        command_id = pdu.command_id
        if command_id & 0x80000000:
            return PduKind.RESPONSE
        return self._kinds.get(command_id, PduKind.OTHER)

    def key(self, pdu: P) -> Hashable:
        """What matches a response to its request (the sequence number; SGIP's triple)."""
        return pdu.sequence

    def framing_lost(self, error: ProtocolError) -> bool:
        """Whether the byte stream can no longer be split into frames after `error`."""
        return getattr(error, "sequence", None) is None

    @abstractmethod
    def error_response(self, error: ProtocolError) -> P | None:
        """The answer to a well-framed PDU that could not be decoded; None for none."""
