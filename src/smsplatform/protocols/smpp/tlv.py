"""SMPP optional parameters (spec §3.2.4, §5.3): tag-length-value triples.

PDUs keep every TLV they arrive with, in order and as raw bytes, including tags we do not know, so a
PDU decodes and re-encodes unchanged and forward-compatible peers lose nothing. Values are read
through the typed helpers here only when needed; a malformed value then raises `ProtocolError` at
that point instead of making the whole PDU undecodable.
"""

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from smsplatform.protocols.errors import ProtocolError

__all__ = [
    "Tlv",
    "TlvTag",
    "decode_tlvs",
    "encode_cstring_tlv",
    "encode_tlvs",
    "find_tlv",
    "tlv_cstring",
    "tlv_int",
]

_TLV_HEADER = struct.Struct(">HH")


class TlvTag(IntEnum):
    """Tags of spec Table 5-7."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter as it travels: a 16-bit tag and up to 65535 octets of value."""

    tag: int
    value: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.tag <= 0xFFFF:
            raise ValueError(f"TLV tag {self.tag} is not a 16-bit value")
        if len(self.value) > 0xFFFF:
            raise ValueError(f"TLV 0x{self.tag:04X} value of {len(self.value)} octets exceeds 65535")

    @classmethod
    def uint(cls, tag: int, value: int, size: int) -> "Tlv":
        """An integer parameter of `size` octets (1, 2 or 4), big-endian as the spec requires."""
        try:
            return cls(tag, value.to_bytes(size, "big"))
        except OverflowError:
            raise ValueError(f"TLV 0x{tag:04X} value {value} does not fit {size} octet(s)") from None

    @classmethod
    def cstring(cls, tag: int, value: str) -> "Tlv":
        """A C-Octet String parameter (NUL-terminated), e.g. receipted_message_id."""
        try:
            return cls(tag, value.encode("latin-1") + b"\x00")
        except UnicodeEncodeError:
            raise ValueError(f"TLV 0x{tag:04X} value {value!r} is not 8-bit text") from None


def encode_tlvs(tlvs: Iterable[Tlv]) -> bytes:
    return b"".join(_TLV_HEADER.pack(tlv.tag, len(tlv.value)) + tlv.value for tlv in tlvs)


def encode_cstring_tlv(tag: int, value: str) -> bytes:
    """`encode_tlvs((Tlv.cstring(tag, value),))` without the object, for a value sent with every message.

    ValueError, as Tlv.cstring, when the value is not 8-bit text or too long.
    """
    try:
        octets = value.encode("latin-1") + b"\x00"
        return _TLV_HEADER.pack(tag, len(octets)) + octets
    except (UnicodeEncodeError, struct.error):
        return encode_tlvs((Tlv.cstring(tag, value),))  # raises, naming the fault


def decode_tlvs(data: bytes | memoryview) -> tuple[Tlv, ...]:
    """Parse a whole optional-parameter section; it must end exactly at a TLV boundary."""
    tlvs: list[Tlv] = []
    position = 0
    end = len(data)
    while position < end:
        if position + _TLV_HEADER.size > end:
            raise ProtocolError(f"{end - position} stray octet(s) after the last optional parameter")
        tag, length = _TLV_HEADER.unpack_from(data, position)
        position += _TLV_HEADER.size
        if position + length > end:
            raise ProtocolError(f"optional parameter 0x{tag:04X} of {length} octets overruns the PDU")
        tlvs.append(Tlv(tag, bytes(data[position : position + length])))
        position += length
    return tuple(tlvs)


def find_tlv(tlvs: Iterable[Tlv], tag: int) -> bytes | None:
    """The value of the first TLV with `tag`, or None."""
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv.value
    return None


def tlv_int(tlvs: Iterable[Tlv], tag: int) -> int | None:
    """An integer parameter, tolerating a peer that sends it wider or narrower than the spec says."""
    value = find_tlv(tlvs, tag)
    if value is None:
        return None
    if not 1 <= len(value) <= 4:
        raise ProtocolError(f"optional parameter 0x{tag:04X} has {len(value)} octets, not an integer")
    return int.from_bytes(value, "big")


def tlv_cstring(tlvs: Iterable[Tlv], tag: int) -> str | None:
    """A C-Octet String parameter; a missing NUL terminator is forgiven (a common peer slip)."""
    value = find_tlv(tlvs, tag)
    if value is None:
        return None
    # Latin-1, like the mandatory C-Octet Strings: every byte maps, so no value is undecodable.
    return value.partition(b"\x00")[0].decode("latin-1")
