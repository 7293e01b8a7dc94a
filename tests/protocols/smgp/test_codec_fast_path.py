"""The compiled fast path of the SMGP codec against the field walk it stands in for.

`encode`/`decode` try the plan compiled from each layout first and fall back to walking the fields one by
one, which names the field at fault. These tests hold the two to the same bytes, the same
PDUs and the same refusals, and check that well-formed traffic never needs the fallback.
"""

import dataclasses
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.layout import decode_fields, decode_plan, encode_fields, encode_plan
from smsplatform.protocols.smgp.codec import HEADER_LENGTH, decode, encode
from smsplatform.protocols.smgp.errors import PduDecodeError
from smsplatform.protocols.smgp.layout import PLANS
from smsplatform.protocols.smgp.pdu import Deliver, Pdu, Submit
from smsplatform.protocols.smgp.tlv import Tlv

from .strategies import pdus

fast_pdus: st.SearchStrategy[Pdu] = pdus
bodied_pdus = pdus.filter(lambda pdu: len(dataclasses.fields(pdu)) > 1)


def _encode_fields(pdu: Pdu) -> bytes:
    return encode_fields(PLANS[pdu.command_id], pdu)


def fast_encode(pdu: Pdu) -> bytes | None:
    try:
        return encode_plan(PLANS[pdu.command_id], pdu)
    except (struct.error, TypeError, ValueError, AttributeError):
        return None


def fast_decode(frame: bytes) -> Pdu | None:
    _, command_id, sequence = struct.unpack_from(">III", frame)
    try:
        pdu: Pdu | None = decode_plan(PLANS[command_id], frame, sequence)
    except (struct.error, ValueError, ProtocolError):
        return None
    return pdu


def walk_decode(frame: bytes) -> Pdu | PduDecodeError:
    _, command_id, sequence = struct.unpack_from(">III", frame)
    try:
        pdu: Pdu = decode_fields(PLANS[command_id], frame, command_id, sequence)
    except PduDecodeError as exc:
        return exc
    return pdu


@given(fast_pdus)
def test_well_formed_pdus_take_the_fast_path_both_ways(pdu: Pdu) -> None:
    wire = _encode_fields(pdu)
    assert fast_encode(pdu) == wire
    assert fast_decode(wire) == pdu


DIRTY: dict[str, st.SearchStrategy[Any]] = {
    "int": st.one_of(st.integers(-2, 0x1_0000_0001), st.booleans(), st.sampled_from([None, 1.0, "1"])),
    "text": st.one_of(st.text(st.sampled_from("1aZ \0éĀ中"), max_size=24), st.sampled_from([None, b"1"])),
    "numbers": st.one_of(
        st.lists(st.text(st.sampled_from("1\0éĀ"), max_size=23), max_size=3).map(tuple),
        st.just(("1",) * 101),
        st.sampled_from([None, "123"]),
    ),
    "octets": st.one_of(st.binary(max_size=256), st.sampled_from([None, "hi", bytearray(10)])),
    "tlvs": st.one_of(
        st.lists(st.builds(Tlv, tag=st.integers(-1, 0x10000), value=st.binary(max_size=4)), max_size=2).map(
            tuple
        ),
        st.sampled_from([None, (None,)]),
    ),
}


def field_kind(name: str, value: object) -> str:
    if name == "tlvs":
        return "tlvs"
    if isinstance(value, bytes):
        return "octets"
    if isinstance(value, tuple):
        return "numbers"
    return "text" if isinstance(value, str) else "int"


@settings(max_examples=300)
@given(bodied_pdus, st.data())
def test_values_the_wire_cannot_carry_are_refused_as_the_writer_refuses_them(
    pdu: Pdu, data: st.DataObject
) -> None:
    names = [f.name for f in dataclasses.fields(pdu)]
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2)):
        value: Any = data.draw(DIRTY[field_kind(name, getattr(pdu, name))])
        pdu = dataclasses.replace(pdu, **{name: value})
    try:
        expected: bytes | Exception = _encode_fields(pdu)
    except Exception as exc:  # whatever the writer lets out, encode must let out too
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


@settings(max_examples=300)
@given(fast_pdus, st.data())
def test_damaged_bodies_decode_as_the_reader_decodes_them(pdu: Pdu, data: st.DataObject) -> None:
    wire = bytearray(encode(pdu))
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
    if isinstance(expected, PduDecodeError):
        assert fast is None
        with pytest.raises(PduDecodeError) as caught:
            decode(frame)
        assert str(caught.value) == str(expected)
    else:
        assert fast in (None, expected)
        assert decode(frame) == expected


def test_a_text_holding_nul_is_left_to_the_writer_which_carries_it() -> None:
    pdu = Submit(1, service_id="a\0b", dest_term_ids=("13800138000",), msg_content=b"hi")
    assert fast_encode(pdu) is None
    assert encode(pdu) == _encode_fields(pdu)


@pytest.mark.parametrize(
    "pdu", [Submit(1, msg_content=bytes(256)), Deliver(1, msg_id=bytes(10), msg_content=bytes(256))]
)
def test_content_beyond_255_octets_is_refused(pdu: Pdu) -> None:
    assert fast_encode(pdu) is None
    with pytest.raises(ValueError, match="MsgContent"):
        encode(pdu)
