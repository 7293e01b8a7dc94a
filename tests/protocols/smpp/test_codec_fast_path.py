"""The compiled fast path of the SMPP codec against the field walk it stands in for.

`encode`/`decode` try the plan compiled from each layout first and fall back to walking the fields one by one,
which names the field at fault and the command_status to answer with. These tests hold the two to the same
bytes, the same PDUs and the same refusals, and check that well-formed traffic never needs the fallback.
"""

import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.smpp.codec import (
    HEADER_LENGTH,
    _decode_fields,
    _decode_plan,
    _encode_fields,
    _encode_plan,
    decode,
    encode,
)
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.layout import LAYOUTS, PLANS, Kind, Layout
from smsplatform.protocols.smpp.pdu import DeliverSm, Pdu, SubmitSm, SubmitSmResp
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag

from .strategies import pdus_of

EVERY_LAYOUT = pytest.mark.parametrize(
    "layout", LAYOUTS.values(), ids=lambda layout: layout.pdu_class.__name__
)


def fast_encode(pdu: Pdu) -> bytes | None:
    try:
        return _encode_plan(PLANS[pdu.command_id], pdu)
    except (struct.error, TypeError, ValueError, AttributeError):
        return None


def header(frame: bytes) -> tuple[int, int, int]:
    _, command_id, command_status, sequence = struct.unpack_from(">IIII", frame)
    return command_id, command_status, sequence


def fast_decode(frame: bytes) -> Pdu | None:
    command_id, command_status, sequence = header(frame)
    try:
        return _decode_plan(PLANS[command_id], frame, command_status, sequence)
    except (struct.error, ValueError):
        return None


def walk_decode(frame: bytes) -> Pdu | SmppDecodeError:
    command_id, command_status, sequence = header(frame)
    try:
        return _decode_fields(LAYOUTS[command_id], frame, command_id, command_status, sequence)
    except SmppDecodeError as exc:
        return exc


@EVERY_LAYOUT
@settings(max_examples=30)
@given(data=st.data())
def test_well_formed_pdus_take_the_fast_path_both_ways(layout: Layout, data: st.DataObject) -> None:
    pdu = data.draw(pdus_of(layout.pdu_class))
    wire = _encode_fields(pdu)
    if layout.body_optional and pdu.command_status:
        assert fast_encode(pdu) is None  # error responses may go out header-only: left to the field walk
    else:
        assert fast_encode(pdu) == wire
    assert fast_decode(wire) == pdu


@EVERY_LAYOUT
def test_an_empty_body_gives_the_defaults_where_the_layout_allows_it(layout: Layout) -> None:
    frame = struct.pack(">IIII", HEADER_LENGTH, next(k for k, v in LAYOUTS.items() if v is layout), 0, 7)
    assert fast_decode(frame) == (walk_decode(frame) if layout.body_optional or not layout.fields else None)


def _dirty_values(kind: Kind, max_octets: int) -> st.SearchStrategy[Any]:
    """Values a field of this kind may be given by mistake, among some it can carry."""
    junk = st.sampled_from([None, 1.0, "1", b"1"])
    if kind is Kind.UINT8:
        return st.one_of(st.integers(-2, 0x1FF), st.booleans(), junk)
    if kind is Kind.CSTRING:
        return st.one_of(st.text(st.sampled_from("1aZ \0éÿĀ中"), max_size=max_octets + 1), junk)
    return st.one_of(st.binary(max_size=256), st.just(bytearray(b"hi")), junk)


@EVERY_LAYOUT
@settings(max_examples=40)
@given(data=st.data())
def test_values_the_wire_cannot_carry_are_refused_as_the_field_walk_refuses_them(
    layout: Layout, data: st.DataObject
) -> None:
    pdu = data.draw(pdus_of(layout.pdu_class))
    for field in data.draw(st.lists(st.sampled_from(layout.fields), max_size=2)) if layout.fields else []:
        pdu = dataclasses.replace(pdu, **{field.name: data.draw(_dirty_values(field.kind, field.max_octets))})
    if layout.tlvs and data.draw(st.booleans()):
        tlvs: Any = data.draw(st.sampled_from([None, [], (None,), [Tlv(1, b"x")], "x"]))
        pdu = dataclasses.replace(pdu, tlvs=tlvs)
    for name in data.draw(st.lists(st.sampled_from(["sequence", "command_status"]), max_size=1)):
        value: Any = data.draw(st.sampled_from([-1, 2**32, None, 1.5]))
        pdu = dataclasses.replace(pdu, **{name: value})
    try:
        expected: bytes | Exception = _encode_fields(pdu)
    except Exception as exc:  # whatever the field walk lets out, encode must let out too
        expected = exc
    fast = fast_encode(pdu)
    if isinstance(expected, Exception):
        assert fast is None
        with pytest.raises(type(expected)) as caught:
            encode(pdu)
        assert str(caught.value) == str(expected)
    else:
        assert fast in (None, expected)
        assert encode(pdu) == expected


@pytest.mark.parametrize("cls", [SubmitSm, DeliverSm, SubmitSmResp], ids=lambda cls: cls.__name__)
@settings(max_examples=100)
@given(data=st.data())
def test_damaged_bodies_decode_as_the_field_walk_decodes_them(cls: type[Pdu], data: st.DataObject) -> None:
    # command_status 0: that error responses may leave their body out is not the point here
    wire = bytearray(encode(dataclasses.replace(data.draw(pdus_of(cls)), command_status=0)))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(HEADER_LENGTH, len(wire)))
        match data.draw(st.sampled_from(["set", "insert", "delete"])):
            case "set" if at < len(wire):
                wire[at] = data.draw(st.sampled_from([0, 1, 0x20, 0x31, 0x7F, 0x80, 0xFF]))
            case "insert":
                wire[at:at] = data.draw(st.binary(min_size=1, max_size=40))
            case _:
                del wire[at : at + data.draw(st.integers(1, 40))]
    wire[0:4] = len(wire).to_bytes(4, "big")
    frame = bytes(wire)
    expected = walk_decode(frame)
    fast = fast_decode(frame)
    if isinstance(expected, SmppDecodeError):
        assert fast is None
        with pytest.raises(SmppDecodeError) as caught:
            decode(frame)
        assert str(caught.value) == str(expected)
        assert (caught.value.command_id, caught.value.sequence, caught.value.status) == (
            expected.command_id,
            expected.sequence,
            expected.status,
        )
    else:
        assert fast in (None, expected)
        assert decode(frame) == expected


@pytest.mark.parametrize(
    "pdu",
    [
        SubmitSm(sequence=1, short_message=bytes(255)),
        SubmitSm(sequence=1, short_message=bytes(256)),
        SubmitSm(sequence=1, short_message="hi"),  # type: ignore[arg-type]
        SubmitSm(sequence=1, source_addr="1" * 21),
        SubmitSm(sequence=1, destination_addr="13\x00800"),
        SubmitSm(sequence=1, service_type="Ā"),
        SubmitSm(sequence=1, esm_class=256),
        SubmitSm(sequence=1, data_coding="8"),  # type: ignore[arg-type]
        SubmitSmResp(sequence=1, message_id="x" * 65),
    ],
)
def test_submits_the_wire_cannot_carry(pdu: Pdu) -> None:
    assert fast_encode(pdu) is None
    with pytest.raises(Exception) as expected:
        _encode_fields(pdu)
    with pytest.raises(type(expected.value)) as caught:
        encode(pdu)
    assert str(caught.value) == str(expected.value)


def test_a_receipt_with_tlvs_takes_the_fast_path() -> None:
    pdu = DeliverSm(
        sequence=2,
        source_addr="13800138000",
        destination_addr="1069000101",
        esm_class=0x04,
        short_message=b"id:0000001A2B sub:001 dlvrd:001 stat:DELIVRD err:000 Text:",
        tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "0000001A2B"), Tlv.uint(TlvTag.MESSAGE_STATE, 2, 1)),
    )
    wire = encode(pdu)
    assert fast_encode(pdu) == wire == _encode_fields(pdu)
    assert fast_decode(wire) == pdu


def test_decode_accepts_a_bytearray_and_gives_bytes_fields() -> None:
    pdu = DeliverSm(sequence=1, short_message=b"hi", tlvs=(Tlv(0x1401, b"vendor"),))
    decoded = decode(bytearray(encode(pdu)))  # type: ignore[arg-type]  # not in the signature, yet taken
    assert decoded == pdu
    assert isinstance(decoded, DeliverSm)
    assert type(decoded.short_message) is bytes
    assert type(decoded.tlvs[0].value) is bytes
