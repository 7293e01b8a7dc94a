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

from smsplatform.protocols.cmpp import codec
from smsplatform.protocols.cmpp.frames import DeliverFramer, SubmitFramer, message_response_frame
from smsplatform.protocols.cmpp.pdu import (
    CmppVersion,
    CommandId,
    Deliver,
    DeliverResp,
    Pdu,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.cmpp.report import report_content

from .strategies import text, u8, u32

versions = st.sampled_from(list(CmppVersion))


def terminal_width(version: CmppVersion) -> int:
    return 32 if version is CmppVersion.V30 else 21


def per_message(version: CmppVersion) -> dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]]:
    """What a frame writes per message: values the wire carries, and values as callers may pass them."""
    terminal = terminal_width(version)
    octet = (u8, st.integers(-2, 300))
    return {
        "sequence": (u32, st.integers(-1, 2**32)),
        "msg_id": (st.binary(min_size=8, max_size=8), st.binary(max_size=10)),
        "pk_total": octet,
        "pk_number": octet,
        "registered_delivery": octet,
        "tp_udhi": octet,
        "msg_fmt": octet,
        "src_id": (text(21), st.text(max_size=24)),
        "destination": (text(terminal), st.text(max_size=terminal + 3)),
        "dest_id": (text(21), st.text(max_size=24)),
        "src_terminal_id": (text(terminal), st.text(max_size=terminal + 3)),
        "msg_content": (st.binary(max_size=255), st.binary(max_size=260)),
        "result": (u32 if version is CmppVersion.V30 else u8, st.integers(-1, 2**32)),
        "reported_msg_id": (st.binary(min_size=8, max_size=8), st.binary(max_size=10)),
        "stat": (text(7), st.text(max_size=9)),
        "submit_time": (text(10), st.text(max_size=12)),
        "done_time": (text(10), st.text(max_size=12)),
        "smsc_sequence": (u32, st.integers(-1, 2**32)),
    }


def draw_values(data: st.DataObject, version: CmppVersion, names: tuple[str, ...]) -> dict[str, Any]:
    """Values for `names`, all of them carried by the wire or (half the time) one perhaps not."""
    strategies = per_message(version)
    spoilt = data.draw(st.sampled_from(names) | st.none())
    values = {}
    for name in names:
        carried, passed = strategies[name]
        values[name] = data.draw(passed if name == spoilt else carried)
    return values


def codec_frame(pdu: Pdu, version: CmppVersion) -> bytes | None:
    try:
        return codec.encode(pdu, version)
    except ValueError:
        return None


@st.composite
def submit_templates(draw: st.DrawFn, version: CmppVersion) -> Submit:
    """A link's fixed submit fields, as its configuration may set them (3.0-only ones dropped by 2.0)."""
    return Submit(
        sequence=0,
        msg_id=draw(st.binary(min_size=8, max_size=8)),
        msg_level=draw(u8),
        service_id=draw(text(10)),
        fee_user_type=draw(u8),
        fee_terminal_id=draw(text(terminal_width(version))),
        fee_terminal_type=draw(u8),
        tp_pid=draw(u8),
        msg_src=draw(text(6)),
        fee_type=draw(text(2)),
        fee_code=draw(text(6)),
        valid_time=draw(text(17)),
        at_time=draw(text(17)),
        dest_terminal_ids=(),
        dest_terminal_type=draw(u8),
        msg_content=b"",
        link_id=draw(text(20)),
    )


@settings(max_examples=300)
@given(data=st.data(), version=versions)
def test_submit_frames_are_the_codecs(data: st.DataObject, version: CmppVersion) -> None:
    template = data.draw(submit_templates(version))
    names = (
        "sequence",
        "pk_total",
        "pk_number",
        "registered_delivery",
        "tp_udhi",
        "msg_fmt",
        "src_id",
        "destination",
        "msg_content",
    )
    values = draw_values(data, version, names)
    frame = SubmitFramer(template, version).frame(*values.values())
    destination = values.pop("destination")
    expected = codec_frame(replace(template, dest_terminal_ids=(destination,), **values), version)
    assert frame == expected


@settings(max_examples=300)
@given(
    data=st.data(),
    version=versions,
    template_fields=st.fixed_dictionaries(
        {"service_id": text(10), "tp_pid": u8, "src_terminal_type": u8, "link_id": text(20)}
    ),
)
def test_deliver_frames_are_the_codecs(
    data: st.DataObject, version: CmppVersion, template_fields: dict[str, Any]
) -> None:
    template = Deliver(
        sequence=0, msg_id=bytes(8), dest_id="", src_terminal_id="", msg_content=b"", **template_fields
    )
    names = (
        "sequence",
        "msg_id",
        "dest_id",
        "tp_udhi",
        "msg_fmt",
        "src_terminal_id",
        "registered_delivery",
        "msg_content",
    )
    values = draw_values(data, version, names)
    frame = DeliverFramer(template, version).frame(*values.values())
    assert frame == codec_frame(replace(template, **values), version)


@settings(max_examples=300)
@given(
    data=st.data(),
    version=versions,
    template_fields=st.fixed_dictionaries(
        {"service_id": text(10), "tp_pid": u8, "src_terminal_type": u8, "link_id": text(20)}
    ),
)
def test_report_frames_are_the_codecs(
    data: st.DataObject, version: CmppVersion, template_fields: dict[str, Any]
) -> None:
    template = Deliver(
        sequence=0, msg_id=bytes(8), dest_id="", src_terminal_id="", msg_content=b"", **template_fields
    )
    names = (
        "sequence",
        "msg_id",
        "dest_id",
        "src_terminal_id",
        "reported_msg_id",
        "stat",
        "submit_time",
        "done_time",
        "smsc_sequence",
    )
    values = draw_values(data, version, names)
    frame = DeliverFramer(template, version).report_frame(*values.values())
    handset = values["src_terminal_id"]  # the report is about the message to it
    try:
        report = report_content(
            values["reported_msg_id"],
            values["stat"],
            values["submit_time"],
            values["done_time"],
            handset,
            values["smsc_sequence"],
            version,
        )
    except ValueError:
        assert frame is None
        return
    pdu = replace(
        template,
        sequence=values["sequence"],
        msg_id=values["msg_id"],
        dest_id=values["dest_id"],
        src_terminal_id=handset,
        registered_delivery=1,
        msg_content=report,
    )
    assert frame == codec_frame(pdu, version)


def test_a_template_the_wire_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="service_id"):
        SubmitFramer(
            Submit(sequence=0, service_id="far too long", dest_terminal_ids=(), msg_content=b""),
            CmppVersion.V30,
        )
    with pytest.raises(ValueError, match="link_id"):
        DeliverFramer(
            Deliver(
                sequence=0, msg_id=bytes(8), dest_id="", src_terminal_id="", msg_content=b"", link_id="é"
            ),
            CmppVersion.V30,
        )


@settings(max_examples=300)
@given(data=st.data(), version=versions, response=st.sampled_from([SubmitResp, DeliverResp]))
def test_message_response_frames_are_the_codecs(
    data: st.DataObject, version: CmppVersion, response: type[SubmitResp] | type[DeliverResp]
) -> None:
    values = draw_values(data, version, ("sequence", "msg_id", "result"))
    sequence, msg_id, result = values.values()
    frame = message_response_frame(response.command_id, sequence, msg_id, result, version)
    assert frame == codec_frame(response(**values), version)


def test_other_commands_are_left_to_the_codec() -> None:
    assert message_response_frame(CommandId.CONNECT_RESP, 1, bytes(8), 0, CmppVersion.V30) is None
