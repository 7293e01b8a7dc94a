"""data_coding values (spec §5.2.19) and the text encodings they stand for."""

from enum import IntEnum

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.text import DecodeErrors, TextEncoding, can_encode, decode_text


class DataCoding(IntEnum):
    """The data_coding values we send."""

    SMSC_DEFAULT = 0x00  # GSM 03.38 7-bit default alphabet, as unpacked septets
    IA5 = 0x01  # ASCII
    BINARY = 0x02
    LATIN1 = 0x03
    UCS2 = 0x08
    # Not SMPP: reserved there, but Chinese SMSCs that speak SMPP use it for GBK as CMPP does.
    GBK = 0x0F


_DATA_CODING_FOR: dict[TextEncoding, int] = {
    TextEncoding.GSM7: DataCoding.SMSC_DEFAULT,
    TextEncoding.ASCII: DataCoding.IA5,
    TextEncoding.LATIN1: DataCoding.LATIN1,
    TextEncoding.UCS2: DataCoding.UCS2,
    TextEncoding.GBK: DataCoding.GBK,
}

_ENCODING_FOR: dict[int, TextEncoding] = {
    DataCoding.SMSC_DEFAULT: TextEncoding.GSM7,
    DataCoding.IA5: TextEncoding.ASCII,
    DataCoding.LATIN1: TextEncoding.LATIN1,
    DataCoding.UCS2: TextEncoding.UCS2,
    DataCoding.GBK: TextEncoding.GBK,
}


def choose_data_coding(text: str) -> tuple[int, TextEncoding]:
    """GSM 7-bit when every character is in its alphabet (160 per segment), else UCS-2 (70)."""
    if can_encode(text, TextEncoding.GSM7):
        return DataCoding.SMSC_DEFAULT, TextEncoding.GSM7
    return DataCoding.UCS2, TextEncoding.UCS2


def data_coding_for(encoding: TextEncoding) -> int:
    return _DATA_CODING_FOR[encoding]


def encoding_for(data_coding: int) -> TextEncoding | None:
    """The text encoding of user data with this data_coding; None for binary or unknown schemes.

    Besides SMPP's own values, the GSM 03.38 data coding groups that a peer may pass through are
    understood: general data coding without compression (00xx), message waiting (1100-1110) and
    data coding/message class (1111).
    """
    known = _ENCODING_FOR.get(data_coding)
    if known is not None:
        return known
    group = data_coding >> 4
    if 0x1 <= group <= 0x3 and not data_coding & 0x20:
        return _gsm_alphabet(data_coding >> 2 & 0x03)
    if group in (0xC, 0xD):
        return TextEncoding.GSM7
    if group == 0xE:
        return TextEncoding.UCS2
    if group == 0xF:
        return None if data_coding & 0x04 else TextEncoding.GSM7
    return None


def _gsm_alphabet(bits: int) -> TextEncoding | None:
    return {0b00: TextEncoding.GSM7, 0b10: TextEncoding.UCS2}.get(bits)


def decode_user_data(data: bytes, data_coding: int, errors: DecodeErrors = "strict") -> str:
    """Message text from user data without its header; `ProtocolError` for binary or bad octets."""
    encoding = encoding_for(data_coding)
    if encoding is None:
        raise ProtocolError(f"data_coding 0x{data_coding:02X} does not carry text")
    return decode_text(data, encoding, errors)
