import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.text import TextEncoding, can_encode, decode_text, encode_text

from .text_strategies import gsm7_text


@pytest.mark.parametrize(
    ("char", "septets"),
    [
        ("€", b"\x1b\x65"),
        ("{", b"\x1b\x28"),
        ("}", b"\x1b\x29"),
        ("[", b"\x1b\x3c"),
        ("]", b"\x1b\x3e"),
        ("~", b"\x1b\x3d"),
        ("\\", b"\x1b\x2f"),
        ("|", b"\x1b\x40"),
        ("^", b"\x1b\x14"),
        ("\f", b"\x1b\x0a"),
        ("@", b"\x00"),
        ("£", b"\x01"),
        ("_", b"\x11"),
        ("¤", b"\x24"),
        ("¡", b"\x40"),
        ("§", b"\x5f"),
        ("¿", b"\x60"),
        ("à", b"\x7f"),
        ("Δ", b"\x10"),
    ],
)
def test_gsm7_table_positions(char: str, septets: bytes) -> None:
    assert encode_text(char, TextEncoding.GSM7) == septets
    assert decode_text(septets, TextEncoding.GSM7) == char


def test_gsm7_plain_ascii_letters_keep_their_codes() -> None:
    assert encode_text("Hello 123", TextEncoding.GSM7) == b"Hello 123"


@pytest.mark.parametrize("text", ["`", "ç", "中", "😀", "\x1b", "\t"])
def test_gsm7_rejects_characters_outside_the_alphabet(text: str) -> None:
    assert not can_encode(text, TextEncoding.GSM7)
    with pytest.raises(ValueError):
        encode_text(text, TextEncoding.GSM7)


def test_gsm7_unknown_escape_falls_back_to_basic_character() -> None:
    assert decode_text(b"\x1bA", TextEncoding.GSM7) == "A"
    assert decode_text(b"\x1b\x1bA", TextEncoding.GSM7) == " A"


@pytest.mark.parametrize("data", [b"\x80", b"abc\x1b", b"\xff\x00"])
def test_gsm7_malformed_is_protocol_error_or_replaced(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_text(data, TextEncoding.GSM7)
    assert "\ufffd" in decode_text(data, TextEncoding.GSM7, errors="replace")


def test_ucs2_is_utf16_with_surrogate_pairs() -> None:
    assert encode_text("中😀", TextEncoding.UCS2) == bytes.fromhex("4E2D D83D DE00")
    assert decode_text(bytes.fromhex("4E2DD83DDE00"), TextEncoding.UCS2) == "中😀"


@pytest.mark.parametrize("data", [b"\x00A\x00", bytes.fromhex("D83D0041")])
def test_ucs2_malformed(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_text(data, TextEncoding.UCS2)
    assert "\ufffd" in decode_text(data, TextEncoding.UCS2, errors="replace")


def test_ucs2_cannot_encode_lone_surrogate() -> None:
    assert not can_encode("\ud800", TextEncoding.UCS2)
    with pytest.raises(ValueError):
        encode_text("\ud800", TextEncoding.UCS2)


def test_gbk_ascii_latin1() -> None:
    assert encode_text("中文", TextEncoding.GBK) == bytes.fromhex("D6D0 CEC4")
    assert decode_text(bytes.fromhex("D6D0CEC4"), TextEncoding.GBK) == "中文"
    assert encode_text("é", TextEncoding.LATIN1) == b"\xe9"
    assert not can_encode("é", TextEncoding.ASCII)
    assert not can_encode("😀", TextEncoding.GBK)
    with pytest.raises(ProtocolError):
        decode_text(b"\xe9", TextEncoding.ASCII)
    with pytest.raises(ProtocolError):
        decode_text(b"\xd6", TextEncoding.GBK)


@given(gsm7_text)
def test_gsm7_round_trip(text: str) -> None:
    assert can_encode(text, TextEncoding.GSM7)
    assert decode_text(encode_text(text, TextEncoding.GSM7), TextEncoding.GSM7) == text


@given(st.text(), st.sampled_from(list(TextEncoding)))
def test_round_trip_whenever_encodable(text: str, encoding: TextEncoding) -> None:
    if can_encode(text, encoding):
        assert decode_text(encode_text(text, encoding), encoding) == text
    else:
        with pytest.raises(ValueError):
            encode_text(text, encoding)


@given(st.binary(), st.sampled_from(list(TextEncoding)))
def test_decoding_random_bytes_raises_only_protocol_error(data: bytes, encoding: TextEncoding) -> None:
    with contextlib.suppress(ProtocolError):
        assert isinstance(decode_text(data, encoding), str)
    assert isinstance(decode_text(data, encoding, errors="replace"), str)
