"""GSM 7-bit coding, done with translation tables, against the character-by-character definition.

The table below is written out from GSM 03.38 here rather than taken from the module, so the two can
disagree.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.text import DecodeErrors, TextEncoding, can_encode, decode_text, encode_text

from .text_strategies import GSM7_ALPHABET, texts

_BASIC = GSM7_ALPHABET[:127]  # septets 0x00-0x7F in order, without the escape 0x1B
SEPTETS = {char: bytes([code + (code >= 0x1B)]) for code, char in enumerate(_BASIC)}
EXTENSION = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
}
SEPTETS.update({char: bytes([0x1B, code]) for char, code in {**EXTENSION, "€": 0x65}.items()})
CHARACTERS = {septets[0]: char for char, septets in SEPTETS.items() if len(septets) == 1}

# Outside the alphabet: ASCII controls, the backtick, DEL, Latin-1 and beyond.
OUTSIDERS = "\x00\t\x1b\x7f`çÀ\x80中😀"
mixed_text = texts(st.sampled_from(GSM7_ALPHABET + OUTSIDERS), max_size=60) | texts(
    st.sampled_from(GSM7_ALPHABET), max_size=200
)


def reference_decode(data: bytes, errors: DecodeErrors) -> str:
    chars: list[str] = []
    escaped = False
    for octet in data:
        if octet > 0x7F:
            if errors == "strict":
                raise ProtocolError("not a septet")
            chars.append("\ufffd")
            escaped = False
        elif escaped:
            extension = {code: char for char, code in {**EXTENSION, "€": 0x65}.items()}
            chars.append(" " if octet == 0x1B else extension.get(octet, CHARACTERS[octet]))
            escaped = False
        elif octet == 0x1B:
            escaped = True
        else:
            chars.append(CHARACTERS[octet])
    if escaped:
        if errors == "strict":
            raise ProtocolError("lone escape")
        chars.append("\ufffd")
    return "".join(chars)


@given(mixed_text)
def test_gsm7_encoding_is_the_table_applied_character_by_character(text: str) -> None:
    outside = [char for char in text if char not in SEPTETS]
    assert can_encode(text, TextEncoding.GSM7) == (not outside)
    if outside:
        with pytest.raises(ValueError, match="is not in the GSM 7-bit alphabet") as caught:
            encode_text(text, TextEncoding.GSM7)
        assert str(caught.value).startswith(repr(outside[0]))
    else:
        assert encode_text(text, TextEncoding.GSM7) == b"".join(SEPTETS[char] for char in text)


@given(
    st.binary(max_size=200) | st.lists(st.integers(0, 0x7F), max_size=200).map(bytes),
    st.sampled_from(["strict", "replace"]),
)
def test_gsm7_decoding_is_the_table_applied_septet_by_septet(data: bytes, errors: DecodeErrors) -> None:
    try:
        expected = reference_decode(data, errors)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            decode_text(data, TextEncoding.GSM7, errors)
    else:
        assert decode_text(data, TextEncoding.GSM7, errors) == expected


@given(texts(st.characters(max_codepoint=0x7F), max_size=100), st.sampled_from(list(TextEncoding)))
def test_every_encoding_but_gsm7_carries_any_ascii(text: str, encoding: TextEncoding) -> None:
    if encoding is not TextEncoding.GSM7:
        assert can_encode(text, encoding)
        assert decode_text(encode_text(text, encoding), encoding) == text
