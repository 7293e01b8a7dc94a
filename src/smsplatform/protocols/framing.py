"""Cutting a byte stream into length-prefixed frames, sans-IO, for all four protocols.

SMPP, CMPP, SGIP and SMGP frames all begin with a 4-octet big-endian length that counts the whole
frame. The reader is fed whatever the socket gave and hands back one decoded PDU at a time, in the
manner of h11, so the link owns the socket and this module never blocks or reads the clock.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Generic, TypeVar

from smsplatform.protocols.errors import ProtocolError

PduT = TypeVar("PduT")

_LENGTH = struct.Struct(">I")
# Consumed frames are dropped from the buffer only once this many octets of them have piled up, so a read
# holding many small frames does not pay for shifting the rest of the buffer after each one.
_COMPACT_AFTER = 64 * 1024


class LengthPrefixedReader(Generic[PduT]):
    """Cuts PDUs out of a stream whose frames begin with their own 4-octet length.

    A length below ``header_size`` or above ``max_frame_size`` means the stream is out of step: the
    error that ``framing_error`` makes for it is raised at once (nothing more is buffered for it) and
    again on every later call, since nothing after it can be trusted and the link must close. A
    well-framed frame is consumed before it is decoded, so a frame that does not decode (a
    ``PduDecodeError`` from ``decode_frame``) does not stop the frames after it.
    """

    __slots__ = (
        "_broken",
        "_buffer",
        "_decode",
        "_framing_error",
        "_header_size",
        "_max_frame_size",
        "_start",
    )

    def __init__(
        self,
        decode_frame: Callable[[bytes], PduT],
        *,
        header_size: int,
        max_frame_size: int,
        framing_error: Callable[[int, int, int], ProtocolError],
    ) -> None:
        """``framing_error(length, header_size, max_frame_size)`` says what a bad length is, in the
        protocol's words."""
        self._decode = decode_frame
        self._header_size = header_size
        self._max_frame_size = max_frame_size
        self._framing_error = framing_error
        self._buffer = bytearray()
        self._start = 0  # where the next frame begins in _buffer
        self._broken: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Octets received but not yet returned as PDUs; non-zero at end of stream means a cut frame."""
        return len(self._buffer) - self._start

    def receive_data(self, data: bytes) -> None:
        """Append bytes read from the peer (discarded once framing is lost)."""
        if self._broken is None:
            self._buffer += data

    def next_pdu(self) -> PduT | None:
        """The next complete PDU, or None until more data arrives."""
        if self._broken is not None:
            raise self._broken
        start = self._start
        buffer = self._buffer
        if len(buffer) - start < 4:
            return None
        (length,) = _LENGTH.unpack_from(buffer, start)
        if not self._header_size <= length <= self._max_frame_size:
            self._broken = self._framing_error(length, self._header_size, self._max_frame_size)
            buffer.clear()
            self._start = 0
            raise self._broken
        end = start + length
        if end > len(buffer):
            return None
        frame = bytes(buffer[start:end])
        if end == len(buffer):
            buffer.clear()
            self._start = 0
        elif end > _COMPACT_AFTER:
            del buffer[:end]
            self._start = 0
        else:
            self._start = end
        return self._decode(frame)
