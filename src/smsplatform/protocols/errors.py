"""The exceptions every codec raises for bytes it cannot make sense of."""

from __future__ import annotations

from typing import Generic, TypeVar

SequenceT = TypeVar("SequenceT")


class ProtocolError(Exception):
    """Malformed or unexpected bytes from a peer.

    Link engines catch this to answer with a protocol-level error (generic_nack, a
    non-zero status) or drop the link; it must never escape as a crash.
    """


class PduDecodeError(ProtocolError, Generic[SequenceT]):
    """A frame whose header was read but whose body cannot be decoded (or whose command is unknown).

    The stream is still in step, so the link can answer ``command_id``/``sequence`` with an error status
    and carry on; a plain ``ProtocolError`` from a reader means the framing itself is lost and the link
    must close. ``sequence`` is the protocol's own: an int, or SGIP's three-part number. ``command_id``
    is None only where a protocol reports lost framing with this class too (SMPP, whose link answers it
    with a generic_nack before closing).
    """

    def __init__(self, message: str, *, command_id: int | None, sequence: SequenceT) -> None:
        if command_id is not None:
            message = f"{message} (command_id=0x{command_id:08x}, sequence={sequence})"
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
