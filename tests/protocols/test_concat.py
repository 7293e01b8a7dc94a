import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.concat import (
    ConcatInfo,
    build_concat_udh,
    parse_concat,
    segment_count,
    split_for_sms,
)
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.text import TextEncoding, decode_text, encode_text

from .text_strategies import gsm7_text, texts


def reassemble(payloads: list[bytes], encoding: TextEncoding) -> str:
    if len(payloads) == 1:
        return decode_text(payloads[0], encoding)
    bodies: dict[int, bytes] = {}
    for payload in payloads:
        info, body = parse_concat(payload)
        assert info is not None
        assert info.total == len(payloads)
        bodies[info.seq] = body
    return decode_text(b"".join(bodies[seq] for seq in sorted(bodies)), encoding)


def test_udh_bytes() -> None:
    assert build_concat_udh(0x2A, 3, 1) == bytes.fromhex("0500032A0301")


@pytest.mark.parametrize(("ref", "total", "seq"), [(256, 2, 1), (1, 0, 1), (1, 2, 3), (1, 2, 0), (-1, 2, 1)])
def test_udh_rejects_out_of_range(ref: int, total: int, seq: int) -> None:
    with pytest.raises(ValueError):
        build_concat_udh(ref, total, seq)


@pytest.mark.parametrize(
    ("encoding", "char", "single", "per_segment"),
    [
        (TextEncoding.GSM7, "a", 160, 153),
        (TextEncoding.UCS2, "中", 70, 67),
        (TextEncoding.LATIN1, "é", 140, 134),
        (TextEncoding.ASCII, "a", 140, 134),
        (TextEncoding.GBK, "a", 140, 134),
    ],
)
def test_segment_boundaries(encoding: TextEncoding, char: str, single: int, per_segment: int) -> None:
    assert split_for_sms(char * single, encoding, 7) == [encode_text(char * single, encoding)]
    payloads = split_for_sms(char * (single + 1), encoding, 7)
    assert len(payloads) == 2
    assert payloads[0] == build_concat_udh(7, 2, 1) + encode_text(char * per_segment, encoding)
    assert len(split_for_sms(char * per_segment * 3, encoding, 7)) == 3
    assert len(split_for_sms(char * (per_segment * 3 + 1), encoding, 7)) == 4
    assert segment_count(char * (per_segment * 3 + 1), encoding) == 4


def test_empty_text_is_one_empty_payload() -> None:
    assert split_for_sms("", TextEncoding.GSM7, 0) == [b""]


def test_gsm7_escape_pair_is_not_split() -> None:
    text = "a" * 152 + "€" + "b" * 10
    first, second = split_for_sms(text, TextEncoding.GSM7, 1)
    assert first[6:] == b"a" * 152
    assert second[6:].startswith(b"\x1b\x65")


def test_ucs2_surrogate_pair_is_not_split() -> None:
    text = "a" * 66 + "😀" + "b" * 10
    first, second = split_for_sms(text, TextEncoding.UCS2, 1)
    assert len(first) == 6 + 132
    assert second[6:10] == "😀".encode("utf-16-be")


def test_gbk_double_byte_is_not_split() -> None:
    text = "a" + "中" * 80
    first, _ = split_for_sms(text, TextEncoding.GBK, 1)
    assert len(first) == 6 + 133
    assert decode_text(first[6:], TextEncoding.GBK) == "a" + "中" * 66


def test_too_many_segments() -> None:
    with pytest.raises(ValueError):
        split_for_sms("a" * (153 * 255 + 1), TextEncoding.GSM7, 0)
    assert len(split_for_sms("a" * (153 * 255), TextEncoding.GSM7, 0)) == 255


def test_parse_16bit_reference_and_skips_other_elements() -> None:
    # A port-addressing element (05) before a 16-bit-reference concatenation element (08).
    payload = bytes.fromhex("0C 05 04 0B84 23F0 08 04 1234 03 02") + b"body"
    assert parse_concat(payload) == (ConcatInfo(ref=0x1234, total=3, seq=2), b"body")


def test_parse_header_without_concatenation() -> None:
    assert parse_concat(bytes.fromhex("03 0A 01 00") + b"x") == (None, b"x")


@pytest.mark.parametrize("udh", ["05 00 03 01 00 01", "05 00 03 01 02 03", "05 00 03 01 02 00"])
def test_invalid_concatenation_values_are_ignored(udh: str) -> None:
    assert parse_concat(bytes.fromhex(udh)) == (None, b"")


@pytest.mark.parametrize("payload", ["", "06 00 03 01 02 01", "05 00 04 01 02 01", "01 00"])
def test_malformed_header(payload: str) -> None:
    with pytest.raises(ProtocolError):
        parse_concat(bytes.fromhex(payload))


@given(st.binary())
def test_parse_random_bytes_raises_only_protocol_error(payload: bytes) -> None:
    try:
        info, body = parse_concat(payload)
    except ProtocolError:
        return
    assert payload.endswith(body)
    assert info is None or 1 <= info.seq <= info.total


@given(texts(max_size=700), st.integers(0, 255))
def test_split_then_reassemble_ucs2(text: str, ref: int) -> None:
    payloads = split_for_sms(text, TextEncoding.UCS2, ref)
    assert all(len(p) <= 140 for p in payloads)
    assert reassemble(payloads, TextEncoding.UCS2) == text


@given(gsm7_text, st.integers(0, 255))
def test_split_then_reassemble_gsm7(text: str, ref: int) -> None:
    payloads = split_for_sms(text, TextEncoding.GSM7, ref)
    assert all(len(p) <= 160 for p in payloads)
    assert reassemble(payloads, TextEncoding.GSM7) == text
    assert segment_count(text, TextEncoding.GSM7) == len(payloads)


@given(texts(st.characters(codec="gbk"), max_size=400))
def test_split_then_reassemble_gbk(text: str) -> None:
    payloads = split_for_sms(text, TextEncoding.GBK, 9)
    assert all(len(p) <= 140 for p in payloads)
    assert reassemble(payloads, TextEncoding.GBK) == text
