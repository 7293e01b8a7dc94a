"""SMGP octet strings, and reading and writing TLVs field by field (`layout` compiles the fixed fields).

Octet strings travel left-aligned and right-padded with 0x00 (spec §5.1.1). They are ASCII in
practice; they are read as Latin-1 so that a stray high octet from a peer survives a decode and an
encode unchanged instead of costing the whole PDU.
"""

from smsplatform.protocols.errors import ProtocolError

TEXT_ENCODING = "latin-1"


class BodyReader:
    """A cursor over one PDU body; running past its end is the peer's fault, hence ProtocolError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def raw(self, size: int, field: str) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise ProtocolError(f"body ends inside {field} ({self.remaining} of {size} octets)")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self.raw(size, field), "big")

    def text(self, width: int, field: str) -> str:
        return self.raw(width, field).rstrip(b"\x00").decode(TEXT_ENCODING)

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk


def put_uint(out: bytearray, value: int, size: int, field: str) -> None:
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{field} must fit in {size} unsigned octet(s), got {value}")
    out += value.to_bytes(size, "big")
