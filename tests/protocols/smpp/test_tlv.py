import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.tlv import (
    Tlv,
    TlvTag,
    decode_tlvs,
    encode_cstring_tlv,
    encode_tlvs,
    find_tlv,
    tlv_cstring,
    tlv_int,
)

from .strategies import tlvs


def test_wire_format_is_tag_length_value() -> None:
    encoded = encode_tlvs(
        [Tlv.uint(TlvTag.SAR_MSG_REF_NUM, 0x1234, 2), Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "A1")]
    )
    assert encoded == bytes.fromhex("020C 0002 1234 001E 0003 413100")


@given(tlvs)
def test_round_trip(values: tuple[Tlv, ...]) -> None:
    assert decode_tlvs(encode_tlvs(values)) == values


@pytest.mark.parametrize("data", ["02", "020C00", "020C 0003 1234"])
def test_truncated_stream(data: str) -> None:
    with pytest.raises(ProtocolError):
        decode_tlvs(bytes.fromhex(data))


def test_typed_readers() -> None:
    values = (
        Tlv(TlvTag.SAR_TOTAL_SEGMENTS, b"\x03"),
        Tlv(TlvTag.SAR_MSG_REF_NUM, b"\x01"),  # one octet where the spec says two: still read
        Tlv(TlvTag.RECEIPTED_MESSAGE_ID, b"abc"),  # NUL forgotten
        Tlv(TlvTag.MESSAGE_STATE, b""),
    )
    assert tlv_int(values, TlvTag.SAR_TOTAL_SEGMENTS) == 3
    assert tlv_int(values, TlvTag.SAR_MSG_REF_NUM) == 1
    assert tlv_cstring(values, TlvTag.RECEIPTED_MESSAGE_ID) == "abc"
    assert tlv_int(values, TlvTag.SOURCE_PORT) is None
    assert find_tlv(values, TlvTag.MESSAGE_PAYLOAD) is None
    with pytest.raises(ProtocolError):
        tlv_int(values, TlvTag.MESSAGE_STATE)


@pytest.mark.parametrize(
    "make", [lambda: Tlv(0x10000, b""), lambda: Tlv(1, b"x" * 0x10000), lambda: Tlv.uint(1, 256, 1)]
)
def test_values_that_do_not_fit(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


@given(tag=st.integers(0, 0xFFFF), value=st.text(max_size=80))
def test_cstring_tlv_without_the_object(tag: int, value: str) -> None:
    try:
        expected: bytes | type[ValueError] = encode_tlvs((Tlv.cstring(tag, value),))
    except ValueError:
        expected = ValueError
    try:
        assert encode_cstring_tlv(tag, value) == expected
    except ValueError:
        assert expected is ValueError
