"""Frames written without a PDU object against the codec they stand in for.

A writer either gives exactly `codec.encode`'s bytes or None, and None only where the codec refuses
the PDU too (the caller then builds it and lets the codec name the fault).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.smpp import codec
from smsplatform.protocols.smpp.frames import ShortMessageFramer, message_response_frame
from smsplatform.protocols.smpp.pdu import (
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    SubmitSm,
    SubmitSmResp,
)
from smsplatform.protocols.smpp.tlv import Tlv, encode_tlvs

from .strategies import cstring, tlvs, u8, u32

# Fixed fields as a link's configuration may set them, % included (the framer keeps a %-format).
templates = st.builds(
    lambda cls, **fields: cls(sequence=0, **fields),
    st.sampled_from([SubmitSm, DeliverSm]),
    service_type=cstring(6),
    source_addr_ton=u8,
    source_addr_npi=u8,
    dest_addr_ton=u8,
    dest_addr_npi=u8,
    protocol_id=u8,
    priority_flag=u8,
    schedule_delivery_time=cstring(17) | st.just("%s%c%"),
    validity_period=cstring(17),
    replace_if_present_flag=u8,
    sm_default_msg_id=u8,
)
# Addresses and octets as callers pass them, including what the wire cannot carry.
addresses = cstring(21) | st.text(max_size=24)
octet_values = u8 | st.integers(-2, 300)


def codec_frame(pdu: SubmitSm | DeliverSm) -> bytes | None:
    try:
        return codec.encode(pdu)
    except ValueError:
        return None


@settings(max_examples=300)
@given(
    template=templates,
    sequence=u32,
    source=addresses,
    destination=addresses,
    esm_class=octet_values,
    registered_delivery=octet_values,
    data_coding=octet_values,
    short_message=st.binary(max_size=260),
    optional=tlvs,
)
def test_short_message_frames_are_the_codecs(
    template: SubmitSm | DeliverSm,
    sequence: int,
    source: str,
    destination: str,
    esm_class: int,
    registered_delivery: int,
    data_coding: int,
    short_message: bytes,
    optional: tuple[Tlv, ...],
) -> None:
    framer = ShortMessageFramer(template)
    pdu = replace(
        template,
        sequence=sequence,
        source_addr=source,
        destination_addr=destination,
        esm_class=esm_class,
        registered_delivery=registered_delivery,
        data_coding=data_coding,
        short_message=short_message,
        tlvs=optional,
    )
    frame = framer.frame(
        sequence,
        source,
        destination,
        esm_class,
        registered_delivery,
        data_coding,
        short_message,
        encode_tlvs(optional),
    )
    assert frame == codec_frame(pdu)


def test_a_template_the_wire_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="service_type"):
        ShortMessageFramer(SubmitSm(sequence=0, service_type="too long"))


RESPONSES: list[Any] = [SubmitSmResp, DeliverSmResp, DataSmResp]


@settings(max_examples=200)
@given(
    response=st.sampled_from(RESPONSES),
    status=st.sampled_from([0, 0x08, 0x58, 0x64]) | u32,
    sequence=u32,
    message_id=cstring(65) | st.just("0000ABCDEF"),
)
def test_message_response_frames_are_the_codecs(
    response: Any, status: int, sequence: int, message_id: str
) -> None:
    frame = message_response_frame(response.command_id, status, sequence, message_id)
    expected = codec.encode(response(sequence=sequence, command_status=status, message_id=message_id))
    # Only octets beyond ASCII are left to the codec, which carries them too.
    assert frame == expected or (frame is None and not message_id.isascii())


def test_error_answers_without_an_id_are_header_only() -> None:
    frame = message_response_frame(DeliverSmResp.command_id, 0x64, 9)
    assert frame == codec.encode(DeliverSmResp(sequence=9, command_status=0x64))
    assert frame is not None and len(frame) == codec.HEADER_LENGTH


def test_other_commands_are_left_to_the_codec() -> None:
    assert message_response_frame(SubmitSm.command_id, 0, 1) is None
