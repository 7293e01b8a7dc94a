"""Frames written without a PDU object against the codec they stand in for.

A writer either gives exactly `codec.encode`'s bytes or None, and None only where the codec refuses
the PDU too (the caller then builds it and lets the codec name the fault).
"""

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.smgp import codec
from smsplatform.protocols.smgp.frames import SubmitFramer, answer_frame, deliver_frame, encoded_tlvs
from smsplatform.protocols.smgp.pdu import CommandId, Deliver, DeliverResp, Pdu, Submit, SubmitResp

from .strategies import msg_ids, octet_text, tlv_lists, u8, u32

# What a frame writes per message: values the wire carries, and values as callers may pass them.
PER_MESSAGE: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "sequence": (u32, st.integers(-1, 2**32)),
    "need_report": (u8, st.integers(-2, 300)),
    "is_report": (u8, st.integers(-2, 300)),
    "msg_format": (u8, st.integers(-2, 300)),
    "msg_id": (msg_ids, st.binary(max_size=12)),
    "recv_time": (octet_text(14), st.text(max_size=16)),
    "src_term_id": (octet_text(21), st.text(max_size=24)),
    "destination": (octet_text(21), st.text(max_size=24)),
    "dest_term_id": (octet_text(21), st.text(max_size=24)),
    "msg_content": (st.binary(max_size=255), st.binary(max_size=260)),
    "status": (u32, st.integers(-1, 2**32)),
}


def draw_values(data: st.DataObject, names: tuple[str, ...]) -> dict[str, Any]:
    """Values for `names`, all of them carried by the wire or (half the time) one perhaps not."""
    spoilt = data.draw(st.sampled_from(names) | st.none())
    values = {}
    for name in names:
        carried, passed = PER_MESSAGE[name]
        values[name] = data.draw(passed if name == spoilt else carried)
    return values


def codec_frame(pdu: Pdu) -> bytes | None:
    try:
        return codec.encode(pdu)
    except ValueError:
        return None


# A link's fixed submit fields, as its configuration may set them (NUL included: the field carries it).
submit_templates = st.builds(
    Submit,
    sequence=st.just(0),
    msg_type=u8,
    priority=u8,
    service_id=octet_text(10) | st.just("a\0b"),
    fee_type=octet_text(2),
    fee_code=octet_text(6),
    fixed_fee=octet_text(6),
    valid_time=octet_text(17),
    at_time=octet_text(17),
    charge_term_id=octet_text(21),
    reserve=octet_text(8),
)


@settings(max_examples=300)
@given(data=st.data(), template=submit_templates, tlvs=tlv_lists)
def test_submit_frames_are_the_codecs(data: st.DataObject, template: Submit, tlvs: tuple[Any, ...]) -> None:
    names = ("sequence", "need_report", "msg_format", "src_term_id", "destination", "msg_content")
    values = draw_values(data, names)
    frame = SubmitFramer(template).frame(
        values["sequence"],
        values["need_report"],
        values["msg_format"],
        values["src_term_id"],
        values["destination"],
        values["msg_content"],
        encoded_tlvs(tlvs),
    )
    destination = values.pop("destination")
    assert frame == codec_frame(replace(template, dest_term_ids=(destination,), tlvs=tlvs, **values))


@settings(max_examples=300)
@given(data=st.data(), tlvs=tlv_lists)
def test_deliver_frames_are_the_codecs(data: st.DataObject, tlvs: tuple[Any, ...]) -> None:
    names = (
        "sequence",
        "msg_id",
        "is_report",
        "msg_format",
        "recv_time",
        "src_term_id",
        "dest_term_id",
        "msg_content",
    )
    values = draw_values(data, names)
    frame = deliver_frame(
        values["sequence"],
        values["msg_id"],
        values["is_report"],
        values["msg_format"],
        values["recv_time"],
        values["src_term_id"],
        values["dest_term_id"],
        values["msg_content"],
        encoded_tlvs(tlvs),
    )
    assert frame == codec_frame(Deliver(tlvs=tlvs, **values))


@settings(max_examples=300)
@given(data=st.data(), answer=st.sampled_from([SubmitResp, DeliverResp]))
def test_answer_frames_are_the_codecs(data: st.DataObject, answer: type[SubmitResp | DeliverResp]) -> None:
    values = draw_values(data, ("sequence", "msg_id", "status"))
    frame = answer_frame(answer.command_id, values["sequence"], values["msg_id"], values["status"])
    assert frame == codec_frame(answer(**values))


def test_other_commands_are_left_to_the_codec() -> None:
    assert answer_frame(CommandId.LOGIN_RESP, 1, bytes(10), 0) is None


def test_a_template_the_wire_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="ServiceID"):
        SubmitFramer(Submit(0, service_id="far too long"))
