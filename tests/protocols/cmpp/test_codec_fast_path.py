"""The compiled fast path of the CMPP codec against the field walk it stands in for.

`encode`/`decode` try the plan compiled from each layout first and fall back to walking the fields one by one,
which names the field at fault. These tests hold the two to the same bytes, the same PDUs and the same
refusals, and check that well-formed traffic never needs the fallback.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.cmpp.codec import HEADER_SIZE, MAX_FRAME_SIZE, PduReader, decode, encode
from smsplatform.protocols.cmpp.errors import PduDecodeError
from smsplatform.protocols.cmpp.layout import LAYOUTS, PDU_CLASSES, PLANS, Kind
from smsplatform.protocols.cmpp.pdu import ActiveTest, CmppVersion, Deliver, Pdu, Submit
from smsplatform.protocols.layout import decode_fields, decode_plan, encode_fields, encode_plan

from .strategies import pdu_strategies

BOTH = pytest.mark.parametrize("version", list(CmppVersion), ids=["2.0", "3.0"])


def _encode_fields(pdu: Pdu, version: CmppVersion) -> bytes:
    return encode_fields(PLANS[version][pdu.command_id], pdu)


def fast_encode(pdu: Pdu, version: CmppVersion) -> bytes | None:
    try:
        return encode_plan(PLANS[version][pdu.command_id], pdu)
    except (struct.error, TypeError, ValueError, AttributeError):
        return None


def fast_decode(frame: bytes, version: CmppVersion) -> Pdu | None:
    plan = PLANS[version][int.from_bytes(frame[4:8], "big")]
    try:
        pdu: Pdu | None = decode_plan(plan, frame, int.from_bytes(frame[8:12], "big"))
    except (struct.error, ValueError):
        return None
    return pdu


def walk_decode(frame: bytes, version: CmppVersion) -> Pdu | PduDecodeError:
    command_id = int.from_bytes(frame[4:8], "big")
    plan = PLANS[version][command_id]
    try:
        pdu: Pdu = decode_fields(plan, frame, command_id, int.from_bytes(frame[8:12], "big"))
    except PduDecodeError as exc:
        return exc
    return pdu


@BOTH
@pytest.mark.parametrize("cls", list(PDU_CLASSES.values()), ids=lambda cls: cls.__name__)
@settings(max_examples=30)
@given(data=st.data())
def test_well_formed_pdus_take_the_fast_path_both_ways(
    version: CmppVersion, cls: type[Pdu], data: st.DataObject
) -> None:
    pdu = data.draw(pdu_strategies(version)[cls])
    wire = _encode_fields(pdu, version)
    assert fast_encode(pdu, version) == wire
    assert fast_decode(wire, version) == pdu


def _dirty_values(kind: Kind, width: int) -> st.SearchStrategy[Any]:
    """Values a field of this kind may be given by mistake, among some it can carry."""
    junk = st.sampled_from([None, 1.0, "1", b"1", bytearray(width)])
    if kind is Kind.U8:
        return st.one_of(st.integers(-2, 0x1FF), st.booleans(), junk)
    if kind is Kind.U32:
        return st.one_of(st.integers(-2, 0x1_0000_0001), junk)
    if kind is Kind.OCTETS:
        return st.one_of(st.binary(min_size=width - 1, max_size=width + 1), junk)
    text = st.text(st.sampled_from("1aZ \0é中"), max_size=width + 2)
    if kind is Kind.TEXT:
        return st.one_of(text, junk)
    if kind is Kind.TEXT_LIST:
        items = st.one_of(text, junk)
        return st.one_of(
            st.lists(items, max_size=3).map(tuple), st.lists(items, max_size=3), st.just(("1",) * 256), junk
        )
    return st.one_of(st.binary(max_size=256), st.binary(min_size=256, max_size=256), junk)


@BOTH
@pytest.mark.parametrize("cls", list(PDU_CLASSES.values()), ids=lambda cls: cls.__name__)
@settings(max_examples=40)
@given(data=st.data())
def test_values_the_wire_cannot_carry_are_refused_as_the_field_walk_refuses_them(
    version: CmppVersion, cls: type[Pdu], data: st.DataObject
) -> None:
    pdu = data.draw(pdu_strategies(version)[cls])
    layout = [field for field in LAYOUTS[version][cls.command_id] if field.kind is not Kind.RESERVED]
    for field in data.draw(st.lists(st.sampled_from(layout), max_size=2)) if layout else []:
        pdu = dataclasses.replace(pdu, **{field.name: data.draw(_dirty_values(field.kind, field.width))})
    if data.draw(st.booleans()):
        pdu = dataclasses.replace(pdu, sequence=data.draw(_dirty_values(Kind.U32, 4)))
    try:
        expected: bytes | ValueError = _encode_fields(pdu, version)
    except ValueError as exc:
        expected = exc
    fast = fast_encode(pdu, version)
    if isinstance(expected, ValueError):
        assert fast is None
        with pytest.raises(ValueError) as caught:
            encode(pdu, version)
        assert str(caught.value) == str(expected)
    else:
        assert fast in (None, expected)
        assert encode(pdu, version) == expected


SUBMIT = Submit(sequence=1, service_id="SVC", dest_terminal_ids=("13800138000",), msg_content=b"hi")


@BOTH
@pytest.mark.parametrize(
    "changes",
    [
        {"dest_terminal_ids": ("1380013\x008000",)},
        {"dest_terminal_ids": ("13800138000", "1\x00")},
        {"dest_terminal_ids": ("1" * 33,)},
        {"dest_terminal_ids": ("138é",)},
        {"dest_terminal_ids": (b"138",)},
        {"dest_terminal_ids": "13800138000"},
        {"service_id": "S\x00C"},
        {"service_id": "S" * 11},
        {"src_id": "1069\x00", "link_id": "L" * 21},
        {"msg_content": bytearray(b"hi")},
        {"msg_content": "hi"},
        {"msg_id": bytearray(8)},
        {"pk_total": 1.0},
    ],
)
def test_texts_lists_and_octets_the_wire_cannot_carry(version: CmppVersion, changes: dict[str, Any]) -> None:
    pdu = dataclasses.replace(SUBMIT, **changes)
    assert fast_encode(pdu, version) is None
    with pytest.raises(ValueError) as expected:
        _encode_fields(pdu, version)
    with pytest.raises(ValueError) as caught:
        encode(pdu, version)
    assert str(caught.value) == str(expected.value)


@BOTH
def test_a_submit_to_several_numbers_takes_the_fast_path(version: CmppVersion) -> None:
    numbers = ("13800138000", "", "1" * 21)
    pdu = dataclasses.replace(SUBMIT, dest_terminal_ids=numbers)
    assert fast_encode(pdu, version) == _encode_fields(pdu, version)
    assert decode(encode(pdu, version), version) == pdu
    as_list: Any = list(numbers)  # the field walk takes a list too
    assert fast_encode(dataclasses.replace(pdu, dest_terminal_ids=as_list), version) == encode(pdu, version)


@BOTH
@pytest.mark.parametrize("cls", [Submit, Deliver], ids=lambda cls: cls.__name__)
@settings(max_examples=100)
@given(data=st.data())
def test_damaged_bodies_decode_as_the_field_walk_decodes_them(
    version: CmppVersion, cls: type[Pdu], data: st.DataObject
) -> None:
    wire = bytearray(encode(data.draw(pdu_strategies(version)[cls]), version))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(HEADER_SIZE, len(wire)))
        match data.draw(st.sampled_from(["set", "insert", "delete"])):
            case "set" if at < len(wire):
                wire[at] = data.draw(st.sampled_from([0, 1, 0x20, 0x31, 0x7F, 0x80, 0xFF]))
            case "insert":
                wire[at:at] = data.draw(st.binary(min_size=1, max_size=40))
            case _:
                del wire[at : at + data.draw(st.integers(1, 40))]
    wire[0:4] = len(wire).to_bytes(4, "big")
    frame = bytes(wire)
    expected = walk_decode(frame, version)
    fast = fast_decode(frame, version)
    if isinstance(expected, PduDecodeError):
        assert fast is None
        with pytest.raises(PduDecodeError) as caught:
            decode(frame, version)
        assert str(caught.value) == str(expected)
        assert (caught.value.command_id, caught.value.sequence) == (expected.command_id, expected.sequence)
    else:
        assert fast in (None, expected)
        assert decode(frame, version) == expected


def test_a_text_field_with_junk_after_its_nul_reads_up_to_the_nul() -> None:
    pdu = Submit(sequence=1, service_id="AB", dest_terminal_ids=("13800138000",), msg_content=b"x")
    wire = bytearray(encode(pdu, CmppVersion.V30))
    wire[HEADER_SIZE + 8 + 4 + 3 : HEADER_SIZE + 8 + 4 + 10] = b"\xffjunk\x00\x01"  # Service_Id after "AB\0"
    assert decode(bytes(wire), CmppVersion.V30) == pdu


def test_decode_accepts_a_bytearray_and_gives_bytes_fields() -> None:
    pdu = Deliver(sequence=1, msg_id=bytes(8), dest_id="1069", src_terminal_id="138", msg_content=b"hi")
    frame = bytearray(encode(pdu, CmppVersion.V30))
    decoded = decode(frame, CmppVersion.V30)  # type: ignore[arg-type]  # not in the signature, yet taken
    assert decoded == pdu
    assert isinstance(decoded, Deliver)
    assert type(decoded.msg_content) is bytes
    assert type(decoded.msg_id) is bytes


def test_frames_of_every_shape_encode_and_the_shape_cache_stays_bounded() -> None:
    plan = PLANS[CmppVersion.V30][Submit.command_id]
    for dests in range(1, 6):
        for length in range(256):
            pdu = Submit(sequence=length, dest_terminal_ids=("1",) * dests, msg_content=bytes(length))
            assert decode(encode(pdu, CmppVersion.V30), CmppVersion.V30) == pdu
    assert len(plan.packings) <= 1024


def test_reader_takes_many_small_frames_from_one_large_read() -> None:
    count = MAX_FRAME_SIZE // HEADER_SIZE * 2  # more than the reader keeps before compacting
    reader = PduReader(CmppVersion.V30)
    reader.receive_data(b"".join(encode(ActiveTest(sequence=n), CmppVersion.V30) for n in range(count)))
    reader.receive_data(encode(ActiveTest(sequence=count), CmppVersion.V30)[:5])
    received = []
    while (pdu := reader.next_pdu()) is not None:
        received.append(pdu)
    assert received == [ActiveTest(sequence=n) for n in range(count)]
    assert reader.buffered == 5
    reader.receive_data(encode(ActiveTest(sequence=count), CmppVersion.V30)[5:])
    assert reader.next_pdu() == ActiveTest(sequence=count)
    assert reader.buffered == 0
