"""Text encodings used in SMS user data, shared by every protocol.

GSM7 is the GSM 03.38 default alphabet as *unpacked* septets (one septet per octet, high bit clear),
the form SMPP's data_coding 0 and most SMSC links carry; characters of the extension table take two
septets (escape 0x1B, then the code). UCS2 is carried as UTF-16-BE so that characters outside the
Basic Multilingual Plane survive as surrogate pairs, which is what handsets do in practice.

Encoding our own text is a caller error when it fails (`ValueError`); decoding a peer's bytes is a
protocol error (`ProtocolError`) unless the caller asks for replacement characters.
"""

from enum import StrEnum
from typing import Literal

from smsplatform.protocols.errors import ProtocolError

__all__ = [
    "GSM7_ESCAPE",
    "DecodeErrors",
    "TextEncoding",
    "can_encode",
    "decode_text",
    "encode_text",
]


class TextEncoding(StrEnum):
    """How message text is turned into user-data octets."""

    GSM7 = "gsm7"
    ASCII = "ascii"
    LATIN1 = "latin1"
    UCS2 = "ucs2"
    GBK = "gbk"


DecodeErrors = Literal["strict", "replace"]

GSM7_ESCAPE = 0x1B

# GSM 03.38 section 6.2.1, indexed by septet value. Position 0x1B is the escape to the extension
# table; it stands for no character of its own, so it is kept out of the encoding map below.
_GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table (3GPP TS 23.038 6.2.1.1): reached through the escape septet.
_GSM7_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_GSM7_ENCODE: dict[str, bytes] = {
    char: bytes([code]) for code, char in enumerate(_GSM7_BASIC) if code != GSM7_ESCAPE
}
_GSM7_ENCODE.update({char: bytes([GSM7_ESCAPE, code]) for code, char in _GSM7_EXTENSION.items()})

# str.translate tables, which do in C what a loop over characters would do in Python.
# Encoding: every character of the alphabet becomes its septet(s), written as ASCII text. ASCII characters
# outside the alphabet become a non-ASCII marker, and other characters outside it stay as they are, also
# non-ASCII; so a translation is ASCII exactly when every character could be encoded.
_GSM7_SEPTETS = {ord(char): septets.decode("ascii") for char, septets in _GSM7_ENCODE.items()}
_GSM7_SEPTETS.update({code: "\x80" for code in range(0x80) if code not in _GSM7_SEPTETS})
_GSM7_CHARS = frozenset(_GSM7_ENCODE)
# Decoding: every septet but the escape, as its character of the basic table.
_GSM7_CHARACTERS = {code: char for code, char in enumerate(_GSM7_BASIC) if code != GSM7_ESCAPE}

_PYTHON_CODECS = {
    TextEncoding.ASCII: "ascii",
    TextEncoding.LATIN1: "latin-1",
    TextEncoding.UCS2: "utf-16-be",
    TextEncoding.GBK: "gbk",
}


def encode_text(text: str, encoding: TextEncoding) -> bytes:
    """Encode `text` for user data; `ValueError` names the first character that cannot be carried."""
    if encoding is TextEncoding.GSM7:
        septets = text.translate(_GSM7_SEPTETS)
        if septets.isascii():
            return septets.encode("ascii")
        bad = next(char for char in text if char not in _GSM7_CHARS)
        raise ValueError(f"{bad!r} is not in the GSM 7-bit alphabet")
    try:
        # "strict" also rejects lone surrogates for UTF-16, which could not be decoded again.
        return text.encode(_PYTHON_CODECS[encoding], "strict")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise ValueError(f"{bad!r} cannot be encoded as {encoding.value}") from None


def can_encode(text: str, encoding: TextEncoding) -> bool:
    """Whether `encode_text(text, encoding)` would succeed."""
    if encoding is TextEncoding.GSM7:
        if text.isascii():
            return text.translate(_GSM7_SEPTETS).isascii()
        return _GSM7_CHARS.issuperset(text)  # stops at the first character outside the alphabet
    if text.isascii():
        return True  # every other encoding carries ASCII as it is
    try:
        text.encode(_PYTHON_CODECS[encoding], "strict")
    except UnicodeEncodeError:
        return False
    return True


def decode_text(data: bytes, encoding: TextEncoding, errors: DecodeErrors = "strict") -> str:
    """Decode user-data octets from a peer.

    With `errors="strict"` malformed input raises `ProtocolError`; with `"replace"` it yields
    U+FFFD in its place, for callers that would rather show a damaged message than none.
    """
    if encoding is TextEncoding.GSM7:
        return _decode_gsm7(data, errors)
    if encoding is TextEncoding.UCS2 and len(data) % 2:
        if errors == "strict":
            raise ProtocolError(f"UCS-2 user data has an odd length ({len(data)} octets)")
        return data[:-1].decode("utf-16-be", "replace") + "\ufffd"
    try:
        return data.decode(_PYTHON_CODECS[encoding], errors)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"user data is not valid {encoding.value}: {exc.reason}") from None


def _decode_gsm7(data: bytes, errors: DecodeErrors) -> str:
    if data.isascii() and GSM7_ESCAPE not in data:
        return data.decode("ascii").translate(_GSM7_CHARACTERS)  # every octet a septet of the basic table
    chars: list[str] = []
    escaped = False
    for septet in data:
        if septet > 0x7F:
            if errors == "strict":
                raise ProtocolError(f"octet 0x{septet:02X} is not a GSM 7-bit septet")
            chars.append("\ufffd")
            escaped = False
        elif escaped:
            # 23.038: an escape sequence with no extension character shows the basic character,
            # and escape-escape (reserved for a further table) shows a space.
            if septet == GSM7_ESCAPE:
                chars.append(" ")
            else:
                chars.append(_GSM7_EXTENSION.get(septet, _GSM7_BASIC[septet]))
            escaped = False
        elif septet == GSM7_ESCAPE:
            escaped = True
        else:
            chars.append(_GSM7_BASIC[septet])
    if escaped:
        if errors == "strict":
            raise ProtocolError("GSM 7-bit user data ends with a lone escape septet")
        chars.append("\ufffd")
    return "".join(chars)
