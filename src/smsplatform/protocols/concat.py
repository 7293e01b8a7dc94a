"""Long messages: splitting text into SMS segments and reading the concatenation header back.

A segment carries at most 140 octets of user data. GSM7 text is carried as unpacked septets, and
140 octets hold 160 packed septets, so a GSM7 payload may be up to 160 octets long here; the SMSC
packs it. Once a message needs more than one segment, each one starts with the 6-octet user data
header 05 00 03 <ref> <total> <seq> (3GPP TS 23.040 9.2.3.24.1), which leaves 134 octets of text,
or 153 septets (the header plus fill bits take the room of 7 septets).
"""

from dataclasses import dataclass

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.text import TextEncoding, encode_text

__all__ = [
    "CONCAT_UDH_LENGTH",
    "ConcatInfo",
    "build_concat_udh",
    "parse_concat",
    "segment_count",
    "split_for_sms",
]

CONCAT_UDH_LENGTH = 6
MAX_SEGMENTS = 255

_IEI_CONCAT_8BIT_REF = 0x00
_IEI_CONCAT_16BIT_REF = 0x08

# (octets when the text fits one segment, octets of text per segment with the header)
_CAPACITY = {
    TextEncoding.GSM7: (160, 153),
    TextEncoding.ASCII: (140, 140 - CONCAT_UDH_LENGTH),
    TextEncoding.LATIN1: (140, 140 - CONCAT_UDH_LENGTH),
    TextEncoding.UCS2: (140, 140 - CONCAT_UDH_LENGTH),
    TextEncoding.GBK: (140, 140 - CONCAT_UDH_LENGTH),
}


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """Where one segment belongs: reference shared by the set, set size, 1-based position."""

    ref: int
    total: int
    seq: int


def build_concat_udh(ref: int, total: int, seq: int) -> bytes:
    """The 6-octet user data header for segment `seq` of `total` with an 8-bit reference."""
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"concatenation reference {ref} does not fit in one octet")
    if not 1 <= total <= MAX_SEGMENTS:
        raise ValueError(f"segment total {total} is outside 1..{MAX_SEGMENTS}")
    if not 1 <= seq <= total:
        raise ValueError(f"segment number {seq} is outside 1..{total}")
    return bytes((0x05, _IEI_CONCAT_8BIT_REF, 0x03, ref, total, seq))


def split_for_sms(text: str, encoding: TextEncoding, ref: int) -> list[bytes]:
    """User-data payloads for `text`: one without a header when it fits, else headed segments.

    A segment never ends inside a character, so surrogate pairs (UCS2), escape pairs (GSM7) and
    double-byte characters (GBK) stay whole; such a segment is one unit shorter than it could be.
    `ValueError` when the text cannot be encoded or needs more than 255 segments.
    """
    whole = encode_text(text, encoding)
    single, per_segment = _CAPACITY[encoding]
    if len(whole) <= single:
        return [whole]
    bodies = _pack_characters(text, encoding, per_segment)
    total = len(bodies)
    if total > MAX_SEGMENTS:
        raise ValueError(f"text needs {total} segments, more than {MAX_SEGMENTS}")
    return [build_concat_udh(ref, total, seq) + body for seq, body in enumerate(bodies, start=1)]


def segment_count(text: str, encoding: TextEncoding) -> int:
    """How many segments `split_for_sms` would produce (what carriers bill by)."""
    whole = encode_text(text, encoding)
    single, per_segment = _CAPACITY[encoding]
    if len(whole) <= single:
        return 1
    return len(_pack_characters(text, encoding, per_segment))


def _pack_characters(text: str, encoding: TextEncoding, capacity: int) -> list[bytes]:
    """Fill segments greedily with whole encoded characters."""
    bodies: list[bytes] = []
    current = bytearray()
    for char in text:
        unit = encode_text(char, encoding)
        if len(current) + len(unit) > capacity:
            bodies.append(bytes(current))
            current.clear()
        current += unit
    if current:
        bodies.append(bytes(current))
    return bodies


def parse_concat(payload: bytes) -> tuple[ConcatInfo | None, bytes]:
    """Split user data that starts with a header into (concatenation info, the text octets).

    Call it only when the UDHI flag says a header is present. Information elements other than
    concatenation are skipped. Per 23.040 an element with total 0 or a position outside 1..total
    is ignored, giving None; when several concatenation elements appear, the last one counts.
    A header that overruns the payload raises `ProtocolError`.
    """
    if not payload:
        raise ProtocolError("user data header indicated but user data is empty")
    header_length = payload[0]
    header_end = 1 + header_length
    if header_end > len(payload):
        raise ProtocolError(f"user data header length {header_length} overruns {len(payload)} octets")
    info: ConcatInfo | None = None
    position = 1
    while position < header_end:
        if position + 2 > header_end:
            raise ProtocolError("user data header ends inside an information element")
        iei, length = payload[position], payload[position + 1]
        start, position = position + 2, position + 2 + length
        if position > header_end:
            raise ProtocolError(f"information element 0x{iei:02X} overruns the user data header")
        element = payload[start:position]
        if iei == _IEI_CONCAT_8BIT_REF and length == 3:
            info = _valid(element[0], element[1], element[2])
        elif iei == _IEI_CONCAT_16BIT_REF and length == 4:
            info = _valid(int.from_bytes(element[0:2], "big"), element[2], element[3])
    return info, payload[header_end:]


def _valid(ref: int, total: int, seq: int) -> ConcatInfo | None:
    if total == 0 or not 1 <= seq <= total:
        return None
    return ConcatInfo(ref=ref, total=total, seq=seq)
