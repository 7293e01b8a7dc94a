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

from smsplatform.protocols.sgip import codec
from smsplatform.protocols.sgip.frames import SubmitFramer, deliver_frame, report_frame, result_frame
from smsplatform.protocols.sgip.pdu import (
    BindResp,
    CommandId,
    Deliver,
    DeliverResp,
    Pdu,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    UserRptResp,
)

from .test_codec import ascii_text, sequences

u8 = st.integers(0, 0xFF)
# What a frame writes per message: values the wire carries, and values as callers may pass them.
octet = (u8, st.integers(-2, 300))
PER_MESSAGE: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "sequence": (sequences, sequences),
    "submit_sequence": (sequences, sequences),
    "sp_number": (ascii_text(21), st.text(max_size=24)),
    "user_number": (ascii_text(21), st.text(max_size=24)),
    "report_flag": octet,
    "report_type": octet,
    "tp_udhi": octet,
    "message_coding": octet,
    "state": octet,
    "error_code": octet,
    "result": octet,
    "message_content": (st.binary(max_size=300), st.binary(max_size=300) | st.just(bytes(70_000))),
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


NO_SEQUENCE = SgipSequence(0, 0, 0)
# A link's fixed submit fields, as its configuration may set them.
submit_templates = st.builds(
    Submit,
    sequence=sequences,
    sp_number=ascii_text(21),
    user_numbers=st.lists(ascii_text(21), min_size=1, max_size=3).map(tuple),
    message_coding=u8,
    message_content=st.binary(max_size=10),
    charge_number=ascii_text(21),
    corp_id=ascii_text(5),
    service_type=ascii_text(10),
    fee_type=u8,
    fee_value=ascii_text(6),
    given_value=ascii_text(6),
    agent_flag=u8,
    morelateto_mt_flag=u8,
    priority=u8,
    expire_time=ascii_text(16),
    schedule_time=ascii_text(16),
    report_flag=u8,
    tp_pid=u8,
    tp_udhi=u8,
    message_type=u8,
    reserve=ascii_text(8),
)


@settings(max_examples=300)
@given(data=st.data(), template=submit_templates)
def test_submit_frames_are_the_codecs(data: st.DataObject, template: Submit) -> None:
    names = (
        "sequence",
        "sp_number",
        "user_number",
        "report_flag",
        "tp_udhi",
        "message_coding",
        "message_content",
    )
    values = draw_values(data, names)
    frame = SubmitFramer(template).frame(*values.values())
    user_number = values.pop("user_number")
    assert frame == codec_frame(replace(template, user_numbers=(user_number,), **values))


@settings(max_examples=300)
@given(data=st.data())
def test_deliver_frames_are_the_codecs(data: st.DataObject) -> None:
    names = ("sequence", "user_number", "sp_number", "tp_udhi", "message_coding", "message_content")
    values = draw_values(data, names)
    assert deliver_frame(*values.values()) == codec_frame(Deliver(**values))


@settings(max_examples=300)
@given(data=st.data())
def test_report_frames_are_the_codecs(data: st.DataObject) -> None:
    names = ("sequence", "submit_sequence", "user_number", "state", "error_code", "report_type")
    values = draw_values(data, names)
    assert report_frame(*values.values()) == codec_frame(Report(**values))


@settings(max_examples=300)
@given(data=st.data(), response=st.sampled_from([BindResp, SubmitResp, DeliverResp, ReportResp, UserRptResp]))
def test_result_frames_are_the_codecs(data: st.DataObject, response: type[Any]) -> None:
    values = draw_values(data, ("sequence", "result"))
    frame = result_frame(response.command_id, values["sequence"], values["result"])
    assert frame == codec_frame(response(**values))


def test_a_template_the_wire_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="CorpId"):
        SubmitFramer(
            Submit(
                sequence=NO_SEQUENCE,
                sp_number="1069",
                user_numbers=("1",),
                message_coding=0,
                message_content=b"",
                corp_id="far too long",
            )
        )


def test_commands_without_a_result_are_left_to_the_codec() -> None:
    assert result_frame(CommandId.UNBIND_RESP, NO_SEQUENCE, 0) is None
    assert result_frame(CommandId.SUBMIT, NO_SEQUENCE, 0) is None
