"""Optional parameters (Tag 2, Length 2, Value) that may follow the fixed part of Submit and Deliver.

They are kept as an ordered tuple of raw `Tlv`s, unknown tags included, so a PDU relayed by the
simulator or logged for support comes out as it came in. `TlvAccessors` reads the few that the
platform acts on.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from smsplatform.protocols.smgp.wire import TEXT_ENCODING, BodyReader, put_uint


class TlvTag(IntEnum):
    TP_PID = 0x0001
    TP_UDHI = 0x0002
    LINK_ID = 0x0003
    CHARGE_USER_TYPE = 0x0004
    CHARGE_TERM_TYPE = 0x0005
    CHARGE_TERM_PSEUDO = 0x0006
    DEST_TERM_TYPE = 0x0007
    DEST_TERM_PSEUDO = 0x0008
    PK_TOTAL = 0x0009
    PK_NUMBER = 0x000A
    SUBMIT_MSG_TYPE = 0x000B
    SP_DEAL_RESULT = 0x000C
    SRC_TERM_TYPE = 0x000D
    SRC_TERM_PSEUDO = 0x000E
    NODES_COUNT = 0x000F
    MSG_SRC = 0x0010
    SRC_TYPE = 0x0011
    MSERVICE_ID = 0x0012


LINK_ID_LENGTH = 20


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    value: bytes

    @classmethod
    def uint8(cls, tag: int, value: int) -> "Tlv":
        """The one-octet integer form used by TP_pid, TP_udhi, PkTotal, PkNumber and most others."""
        if not 0 <= value <= 0xFF:
            raise ValueError(f"TLV {tag:#06x} holds one octet, got {value}")
        return cls(tag, bytes((value,)))

    @classmethod
    def text(cls, tag: int, value: str, width: int | None = None) -> "Tlv":
        """An octet-string value, NUL-padded to `width` when the tag has a fixed size (LinkID: 20)."""
        encoded = value.encode(TEXT_ENCODING)
        if width is not None:
            if len(encoded) > width:
                raise ValueError(f"TLV {tag:#06x} holds at most {width} octets, got {len(encoded)}")
            encoded = encoded.ljust(width, b"\x00")
        return cls(tag, encoded)


def udhi_tlv(udhi: bool = True) -> Tlv:
    return Tlv.uint8(TlvTag.TP_UDHI, int(udhi))


def link_id_tlv(link_id: str) -> Tlv:
    return Tlv.text(TlvTag.LINK_ID, link_id, LINK_ID_LENGTH)


def find_tlv(tlvs: Iterable[Tlv], tag: int) -> Tlv | None:
    """The first parameter with this tag; a repeated tag is kept on the PDU but only the first is read."""
    return next((tlv for tlv in tlvs if tlv.tag == tag), None)


def encode_tlvs(out: bytearray, tlvs: Iterable[Tlv]) -> None:
    for tlv in tlvs:
        put_uint(out, tlv.tag, 2, "TLV tag")
        put_uint(out, len(tlv.value), 2, f"length of TLV {tlv.tag:#06x}")
        out += tlv.value


def decode_tlvs(reader: BodyReader) -> tuple[Tlv, ...]:
    tlvs: list[Tlv] = []
    while reader.remaining:
        tag = reader.uint(2, "TLV tag")
        length = reader.uint(2, f"length of TLV {tag:#06x}")
        tlvs.append(Tlv(tag, reader.raw(length, f"value of TLV {tag:#06x}")))
    return tuple(tlvs)


def _uint_value(tlvs: Iterable[Tlv], tag: int) -> int | None:
    tlv = find_tlv(tlvs, tag)
    if tlv is None or not tlv.value:
        return None
    # Read whatever width the peer used; the spec says one octet but a reader gains nothing by refusing two.
    return int.from_bytes(tlv.value, "big")


class TlvAccessors:
    """Typed reads of the optional parameters the platform acts on, for PDUs with a `tlvs` field."""

    __slots__ = ()

    tlvs: tuple[Tlv, ...]

    @property
    def tp_pid(self) -> int | None:
        return _uint_value(self.tlvs, TlvTag.TP_PID)

    @property
    def udhi(self) -> bool:
        """Whether MsgContent starts with a user data header (only the lowest bit counts, §6.3.3)."""
        value = _uint_value(self.tlvs, TlvTag.TP_UDHI)
        return value is not None and bool(value & 1)

    @property
    def pk_total(self) -> int | None:
        return _uint_value(self.tlvs, TlvTag.PK_TOTAL)

    @property
    def pk_number(self) -> int | None:
        return _uint_value(self.tlvs, TlvTag.PK_NUMBER)

    @property
    def link_id(self) -> str | None:
        tlv = find_tlv(self.tlvs, TlvTag.LINK_ID)
        return None if tlv is None else tlv.value.rstrip(b"\x00").decode(TEXT_ENCODING)
