"""The SMPP adapter's judgements, PDU by PDU (no sockets)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smsplatform.connectors.adapter import AckStatus, PduKind, SessionRole
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.model import OutboundSms
from smsplatform.connectors.smpp import SmppAdapter
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.pdu import (
    BindReceiver,
    BindTransceiverResp,
    BindTransmitter,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    GenericNack,
    Outbind,
    SubmitSmResp,
)
from smsplatform.protocols.smpp.status import CommandStatus
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag

CONFIG = ConnectorConfig("up", "smpp", "h", 1, "esme", "pw", extra={"system_type": "VMA"})


@pytest.fixture
def adapter() -> SmppAdapter:
    return SmppAdapter(CONFIG)


def test_binds_by_role(adapter: SmppAdapter) -> None:
    bind = adapter.bind_request(SessionRole.TRANSMITTER, 7)
    assert isinstance(bind, BindTransmitter)
    assert (bind.sequence, bind.system_id, bind.password, bind.system_type) == (7, "esme", "pw", "VMA")
    assert isinstance(adapter.bind_request(SessionRole.RECEIVER, 8), BindReceiver)
    assert adapter.bind_result(BindTransceiverResp(sequence=1, system_id="SMSC")).ok
    refused = adapter.bind_result(BindTransceiverResp(sequence=1, command_status=0x0E))
    assert (refused.ok, refused.error) == (False, "status 0x0000000E (invalid password)")
    assert not adapter.bind_result(GenericNack(sequence=1)).ok


def test_submit_answers(adapter: SmppAdapter) -> None:
    ok = adapter.read_submit_response(SubmitSmResp(sequence=1, message_id="abc "))
    assert (ok.ok, ok.remote_id) == (True, "abc")
    queue_full = adapter.read_submit_response(SubmitSmResp(sequence=1, command_status=0x14))
    assert (queue_full.ok, queue_full.transient, queue_full.error) == (False, True, "0x00000014")
    invalid = adapter.read_submit_response(SubmitSmResp(sequence=1, command_status=0x0B))
    assert (invalid.ok, invalid.transient) == (False, False)
    assert not adapter.read_submit_response(GenericNack(sequence=1)).ok


def test_classify_and_answers(adapter: SmppAdapter) -> None:
    assert adapter.classify(SubmitSmResp(sequence=1)) is PduKind.RESPONSE
    assert adapter.classify(GenericNack(sequence=1)) is PduKind.RESPONSE
    assert adapter.classify(DeliverSm(sequence=1)) is PduKind.DELIVER
    assert adapter.classify(DataSm(sequence=1)) is PduKind.DELIVER
    assert adapter.classify(EnquireLink(sequence=1)) is PduKind.LINK_TEST
    assert adapter.classify(Outbind(sequence=1)) is PduKind.OTHER
    assert adapter.key(EnquireLink(sequence=42)) == 42
    assert adapter.reject(Outbind(sequence=3)) is None
    early = adapter.reject(DeliverSm(sequence=4))
    assert isinstance(early, DeliverSmResp) and early.command_status == CommandStatus.ESME_RINVBNDSTS
    unknown = adapter.error_response(SmppDecodeError("?", command_id=0x99, sequence=5))
    assert isinstance(unknown, GenericNack) and (unknown.sequence, unknown.command_status) == (5, 3)
    assert adapter.framing_lost(SmppDecodeError("bad length"))
    assert not adapter.framing_lost(SmppDecodeError("?", command_id=0x99, sequence=5))


def test_deliver_acknowledgements(adapter: SmppAdapter) -> None:
    deliver = DeliverSm(sequence=9)
    assert adapter.deliver_response(deliver, AckStatus.OK) == DeliverSmResp(sequence=9)
    assert adapter.deliver_response(deliver, AckStatus.RETRY).command_status == CommandStatus.ESME_RX_T_APPN
    assert adapter.deliver_response(deliver, AckStatus.REJECT).command_status == CommandStatus.ESME_RX_P_APPN
    assert isinstance(adapter.deliver_response(DataSm(sequence=2), AckStatus.OK), DataSmResp)


def test_receipt_from_tlvs_only(adapter: SmppAdapter) -> None:
    receipt = DataSm(
        sequence=1,
        source_addr="13800138000",
        esm_class=0x04,
        tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "XYZ"), Tlv.uint(TlvTag.MESSAGE_STATE, 5, 1)),
    )
    report = adapter.read_deliver(receipt).report
    assert report is not None
    assert (report.remote_id, report.stat, report.destination, report.connector) == (
        "XYZ",
        "UNDELIV",
        "13800138000",
        "up",
    )


def test_receipt_in_a_vendor_layout(adapter: SmppAdapter) -> None:
    text = b"ID:77 SUB:001 DLVRD:000 SUBMIT_DATE:2501011200 DONE_DATE:2501011230 STAT:expired ERR:012"
    report = adapter.read_deliver(DeliverSm(sequence=1, esm_class=0x04, short_message=text)).report
    assert report is not None
    assert (report.remote_id, report.stat, report.err, report.done_time) == (
        "77",
        "EXPIRED",
        "012",
        "2501011230",
    )


def test_receipt_naming_nothing_is_unusable(adapter: SmppAdapter) -> None:
    with pytest.raises(ProtocolError):
        adapter.read_deliver(DeliverSm(sequence=1, esm_class=0x04, short_message=b"gibberish"))


def test_mo_from_sar_parts_and_payload(adapter: SmppAdapter) -> None:
    def part(seq: int, text: bytes) -> DeliverSm:
        sar = (
            Tlv.uint(TlvTag.SAR_MSG_REF_NUM, 300, 2),
            Tlv.uint(TlvTag.SAR_TOTAL_SEGMENTS, 2, 1),
            Tlv.uint(TlvTag.SAR_SEGMENT_SEQNUM, seq, 1),
        )
        return DeliverSm(
            sequence=seq, source_addr="139", destination_addr="1069", short_message=text, tlvs=sar
        )

    first = adapter.read_deliver(part(2, b"world"))
    assert first.report is None and first.inbound is None  # waiting for the rest
    whole = adapter.read_deliver(part(1, b"hello "))
    assert whole.inbound is not None
    assert (whole.inbound.text, whole.inbound.source, whole.inbound.destination) == (
        "hello world",
        "139",
        "1069",
    )

    payload = DeliverSm(
        sequence=3,
        source_addr="139",
        destination_addr="1069",
        data_coding=8,
        tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, ("长" * 100).encode("utf-16-be")),),
    )
    inbound = adapter.read_deliver(payload).inbound
    assert inbound is not None and inbound.text == "长" * 100


def test_binary_mo_is_rejected(adapter: SmppAdapter) -> None:
    with pytest.raises(ProtocolError):
        adapter.read_deliver(DeliverSm(sequence=1, data_coding=0x04, short_message=b"\x00\x01"))


def test_id_bases_canonicalise(adapter: SmppAdapter) -> None:
    hex_ids = SmppAdapter(replace(CONFIG, extra={"id_base": "hex"}))
    assert hex_ids.read_submit_response(SubmitSmResp(sequence=1, message_id="00ab")).remote_id == "AB"
    dec_ids = SmppAdapter(replace(CONFIG, extra={"id_base": "dec"}))
    assert dec_ids.read_submit_response(SubmitSmResp(sequence=1, message_id="007")).remote_id == "7"
    assert dec_ids.read_submit_response(SubmitSmResp(sequence=1, message_id="x7")).remote_id == "x7"
    with pytest.raises(ValueError):
        SmppAdapter(replace(CONFIG, extra={"id_base": "octal"}))


def frames_both_ways(adapter: SmppAdapter, sms: OutboundSms) -> tuple[object, object]:
    """(submit_frames, the frames of build_submits encoded), or the error each raised."""
    results: list[object] = []
    for build in (
        lambda next_sequence: adapter.submit_frames(sms, next_sequence),
        lambda next_sequence: [
            (adapter.key(pdu), adapter.encode(pdu)) for pdu in adapter.build_submits(sms, next_sequence)
        ],
    ):
        adapter._ref = 0x1234  # the concatenation reference, so both ways number alike
        try:
            results.append(build(iter(range(1, 1000)).__next__))
        except ValueError as error:
            results.append(str(error))
    return results[0], results[1]


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"service_type": "CMT", "source_ton": "5", "source_npi": "0", "dest_ton": "1"},
        {"encoding": "latin1", "data_coding": "0x03"},
        {"data_coding": "300"},  # does not fit its octet: refused as invalid
        {"service_type": "toolong"},  # refused as invalid, every time
        {"long_message": "sar"},
        {"long_message": "payload"},
    ],
)
@pytest.mark.parametrize(
    "sms",
    [
        OutboundSms(1, "1069000", "13900000001", "您的验证码是123456"),
        OutboundSms(2, "1069000", "13900000001", "hello %s", want_receipt=False),
        OutboundSms(3, "10690001234", "13900000001", "长" * 150),
        OutboundSms(4, "1069000", "13900000001", "x" * 400),
        OutboundSms(5, "1" * 21, "13900000001", "source too long"),
        OutboundSms(6, "1069000", "1390000000\0", "NUL in an address"),
        OutboundSms(7, "1069000", "你好", "not 8-bit"),
    ],
)
def test_submit_frames_are_the_encoded_submits(extra: dict[str, str], sms: OutboundSms) -> None:
    written, encoded = frames_both_ways(SmppAdapter(replace(CONFIG, extra=extra)), sms)
    assert written == encoded


@pytest.mark.parametrize("status", list(AckStatus))
@pytest.mark.parametrize("deliver", [DeliverSm(sequence=9), DataSm(sequence=0xFFFFFFFF)])
def test_deliver_response_frames_are_the_encoded_responses(
    adapter: SmppAdapter, status: AckStatus, deliver: DeliverSm | DataSm
) -> None:
    expected = adapter.encode(adapter.deliver_response(deliver, status))
    assert adapter.deliver_response_frame(deliver, status) == expected
