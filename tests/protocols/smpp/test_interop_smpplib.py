"""Cross-checks against smpplib, an SMPP implementation we did not write."""

from typing import Any

import pytest
import smpplib.smpp

from smsplatform.protocols.smpp.codec import decode, encode
from smsplatform.protocols.smpp.pdu import (
    BindTransmitter,
    DeliverSm,
    EnquireLink,
    SubmitSm,
    SubmitSmResp,
)
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag


class _Client:
    """The little of smpplib's client that its PDU classes ask for."""

    sequence = 5

    def next_sequence(self) -> int:
        return self.sequence


def smpplib_frame(command: str, **fields: Any) -> bytes:
    frame: bytes = smpplib.smpp.make_pdu(command, client=_Client(), **fields).generate()
    return frame


def smpplib_parse(frame: bytes) -> Any:
    return smpplib.smpp.parse_pdu(frame, client=_Client())


def test_bind_transmitter_matches_byte_for_byte() -> None:
    ours = encode(BindTransmitter(sequence=5, system_id="smppclient1", password="password"))
    assert ours == smpplib_frame("bind_transmitter", system_id="smppclient1", password="password")


def test_their_submit_sm_with_tlvs_decodes() -> None:
    frame = smpplib_frame(
        "submit_sm",
        source_addr="1234",
        destination_addr="5678",
        short_message=b"Hi",
        source_addr_ton=5,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=1,
        sar_msg_ref_num=3,
        sar_total_segments=2,
        sar_segment_seqnum=1,
    )
    pdu = decode(frame)
    assert isinstance(pdu, SubmitSm)
    assert (pdu.sequence, pdu.source_addr, pdu.destination_addr, pdu.short_message) == (
        5,
        "1234",
        "5678",
        b"Hi",
    )
    assert (pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum) == (3, 2, 1)
    assert encode(pdu) == frame


def test_our_receipt_parses_in_smpplib() -> None:
    receipt = DeliverSm(
        sequence=9,
        source_addr="13800138000",
        destination_addr="10086",
        esm_class=0x04,
        short_message=b"id:1 stat:DELIVRD",
        tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "1"), Tlv.uint(TlvTag.MESSAGE_STATE, 2, 1)),
    )
    theirs = smpplib_parse(encode(receipt))
    assert (theirs.command, theirs.sequence, theirs.source_addr) == ("deliver_sm", 9, b"13800138000")
    assert (theirs.receipted_message_id, theirs.message_state) == (b"1", 2)
    assert theirs.short_message == b"id:1 stat:DELIVRD"


@pytest.mark.parametrize(
    "pdu",
    [
        EnquireLink(sequence=3),
        SubmitSmResp(sequence=3, message_id="abc"),
        SubmitSmResp(sequence=3, command_status=0x58),
    ],
)
def test_smpplib_reads_our_frames(pdu: EnquireLink | SubmitSmResp) -> None:
    theirs = smpplib_parse(encode(pdu))
    assert (theirs.sequence, theirs.status) == (pdu.sequence, pdu.command_status)
