import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.codec import MAX_COMMAND_LENGTH, PduReader, decode, encode
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.layout import LAYOUTS, Layout
from smsplatform.protocols.smpp.pdu import (
    BindTransceiverResp,
    BindTransmitter,
    CommandId,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from smsplatform.protocols.smpp.status import CommandStatus
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag

from .strategies import any_pdu, pdus_of


def hexbytes(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", ""))


# --- byte vectors, laid out field by field after the spec's tables ---------------------------

VECTORS: list[tuple[str, Pdu, str]] = [
    (
        "spec 3.2.2 example: bind_transmitter",
        BindTransmitter(
            sequence=1,
            system_id="SMPP3TEST",
            password="secret08",
            system_type="SUBMIT1",
            interface_version=0x00,
            addr_ton=1,
            addr_npi=1,
        ),
        "0000002F 00000002 00000000 00000001 | 534D505033544553 5400 | 7365637265743038 00"
        "| 5355424D49543100 | 00 | 01 | 01 | 00",
    ),
    (
        "bind_transmitter smppclient1/password",
        BindTransmitter(sequence=1, system_id="smppclient1", password="password"),
        "0000002A 00000002 00000000 00000001 | 736D7070636C69656E743100 | 70617373776F726400"
        "| 00 | 34 | 00 | 00 | 00",
    ),
    (
        "bind_transceiver_resp with sc_interface_version",
        BindTransceiverResp(
            sequence=1, system_id="SMSC", tlvs=(Tlv.uint(TlvTag.SC_INTERFACE_VERSION, 0x34, 1),)
        ),
        "0000001A 80000009 00000000 00000001 | 534D534300 | 0210 0001 34",
    ),
    ("enquire_link", EnquireLink(sequence=7), "00000010 00000015 00000000 00000007"),
    ("enquire_link_resp", EnquireLinkResp(sequence=7), "00000010 80000015 00000000 00000007"),
    ("unbind", Unbind(sequence=0x7FFFFFFF), "00000010 00000006 00000000 7FFFFFFF"),
    (
        "generic_nack",
        GenericNack(sequence=0, command_status=CommandStatus.ESME_RINVCMDID),
        "00000010 80000000 00000003 00000000",
    ),
    (
        "outbind",
        Outbind(sequence=4, system_id="SMSC", password="pw"),
        "00000018 0000000B 00000000 00000004 534D534300 707700",
    ),
    (
        "submit_sm",
        SubmitSm(
            sequence=2,
            source_addr_ton=5,
            source_addr="1234",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="5678",
            registered_delivery=1,
            short_message=b"Hi",
            tlvs=(Tlv.uint(TlvTag.USER_MESSAGE_REFERENCE, 1, 2),),
        ),
        "00000031 00000004 00000000 00000002"
        "| 00 | 05 | 00 | 3132333400 | 01 | 01 | 3536373800"  # service_type, source, destination
        "| 00 | 00 | 00 | 00 | 00"  # esm_class, protocol_id, priority_flag, schedule, validity
        "| 01 | 00 | 00 | 00 | 02 4869"  # registered_delivery, replace, data_coding, default_msg_id, sm
        "| 0204 0002 0001",
    ),
    (
        "submit_sm_resp",
        SubmitSmResp(sequence=2, message_id="abc"),
        "00000014 80000004 00000000 00000002 61626300",
    ),
    (
        "submit_sm_resp error leaves the body out",
        SubmitSmResp(sequence=2, command_status=CommandStatus.ESME_RTHROTTLED),
        "00000010 80000004 00000058 00000002",
    ),
    ("deliver_sm_resp", DeliverSmResp(sequence=9), "00000011 80000005 00000000 00000009 00"),
    (
        "data_sm with message_payload",
        DataSm(
            sequence=3, source_addr="1", destination_addr="2", data_coding=8, tlvs=(Tlv(0x0424, b"\x00A"),)
        ),
        "00000022 00000103 00000000 00000003 | 00 | 00 00 3100 | 00 00 3200 | 00 | 00 | 08 | 0424 0002 0041",
    ),
]


@pytest.mark.parametrize(
    ("pdu", "wire"), [(pdu, wire) for _, pdu, wire in VECTORS], ids=[v[0] for v in VECTORS]
)
def test_byte_vectors(pdu: Pdu, wire: str) -> None:
    frame = hexbytes(wire)
    assert encode(pdu) == frame
    assert decode(frame) == pdu


def test_error_response_with_body_is_accepted() -> None:
    frame = hexbytes("00000014 80000004 00000045 00000002 61626300")
    assert decode(frame) == SubmitSmResp(sequence=2, command_status=0x45, message_id="abc")


def test_deliver_sm_resp_without_body_is_accepted() -> None:
    assert decode(hexbytes("00000010 80000005 00000000 00000009")) == DeliverSmResp(sequence=9)


def test_header_only_pdu_ignores_stray_body() -> None:
    assert decode(hexbytes("00000011 00000015 00000000 00000007 00")) == EnquireLink(sequence=7)


def test_unknown_tlv_is_kept_in_order() -> None:
    pdu = DeliverSm(sequence=1, tlvs=(Tlv(0x1401, b"vendor"), Tlv(0x001E, b"id\x00")))
    decoded = decode(encode(pdu))
    assert isinstance(decoded, DeliverSm)
    assert decoded.tlvs == pdu.tlvs
    assert decoded.receipted_message_id == "id"


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=lambda layout: layout.pdu_class.__name__)
@settings(max_examples=40)  # per type; `any_pdu` below covers them all again
@given(data=st.data())
def test_round_trip_every_pdu_type(layout: Layout, data: st.DataObject) -> None:
    pdu = data.draw(pdus_of(layout.pdu_class))
    frame = encode(pdu)
    assert struct.unpack(">I", frame[:4])[0] == len(frame)
    assert decode(frame) == pdu


@given(st.lists(any_pdu, min_size=1, max_size=5), st.integers(1, 40))
def test_reader_reassembles_frames_from_any_chunking(pdus: list[Pdu], chunk: int) -> None:
    stream = b"".join(encode(pdu) for pdu in pdus)
    reader = PduReader()
    received: list[Pdu] = []
    for start in range(0, len(stream), chunk):
        reader.receive_data(stream[start : start + chunk])
        while (pdu := reader.next_pdu()) is not None:
            received.append(pdu)
    assert received == pdus
    assert reader.buffered == 0


def test_reader_fed_byte_by_byte() -> None:
    pdus: list[Pdu] = [pdu for _, pdu, _ in VECTORS]
    reader = PduReader()
    received: list[Pdu] = []
    for byte in b"".join(encode(pdu) for pdu in pdus):
        reader.receive_data(bytes([byte]))
        pdu = reader.next_pdu()
        if pdu is not None:
            received.append(pdu)
    assert received == pdus


# --- malformed input --------------------------------------------------------------------------

SUBMIT = encode(SubmitSm(sequence=5, source_addr="123", destination_addr="456", short_message=b"hello"))


def with_body(command_id: int, body: bytes, sequence: int = 5) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, 0, sequence) + body


@pytest.mark.parametrize(
    ("frame", "status"),
    [
        (with_body(0x00000003, b""), CommandStatus.ESME_RINVCMDID),  # query_sm: not spoken here
        (with_body(0x12345678, b"\x00" * 3), CommandStatus.ESME_RINVCMDID),
        (with_body(CommandId.SUBMIT_SM, SUBMIT[16:-3]), CommandStatus.ESME_RINVMSGLEN),
        # sm_length 255 with its 255 octets: past the spec's 254, which encode holds to as well.
        (with_body(CommandId.SUBMIT_SM, SUBMIT[16:-6] + b"\xff" + b"x" * 255), CommandStatus.ESME_RINVMSGLEN),
        (
            with_body(CommandId.DELIVER_SM, SUBMIT[16:-6] + b"\xff" + b"x" * 255),
            CommandStatus.ESME_RINVMSGLEN,
        ),
        (with_body(CommandId.SUBMIT_SM, SUBMIT[16:22]), CommandStatus.ESME_RINVCMDLEN),
        (with_body(CommandId.SUBMIT_SM, b""), CommandStatus.ESME_RINVCMDLEN),
        # source_addr of 21 characters: no NUL within its 21 octets.
        (
            with_body(CommandId.SUBMIT_SM, b"\x00\x00\x00" + b"1" * 30 + b"\x00"),
            CommandStatus.ESME_RINVSRCADR,
        ),
        (with_body(CommandId.BIND_TRANSMITTER, b"x" * 16 + b"\x00"), CommandStatus.ESME_RINVSYSID),
        (with_body(CommandId.BIND_TRANSMITTER, b"sys\x00" + b"p" * 9), CommandStatus.ESME_RINVPASWD),
        (with_body(CommandId.SUBMIT_SM_RESP, b"x" * 70), CommandStatus.ESME_RINVMSGID),
        (with_body(CommandId.SUBMIT_SM, SUBMIT[16:] + b"\x02\x04\x00"), CommandStatus.ESME_RINVOPTPARSTREAM),
        (
            with_body(CommandId.SUBMIT_SM, SUBMIT[16:] + b"\x02\x04\x00\x05\x00"),
            CommandStatus.ESME_RINVOPTPARSTREAM,
        ),
    ],
)
def test_malformed_frames_name_the_command_and_a_status(frame: bytes, status: int) -> None:
    with pytest.raises(SmppDecodeError) as caught:
        decode(frame)
    command_id, sequence = struct.unpack_from(">4xI4xI", frame)
    assert caught.value.command_id == command_id
    assert caught.value.sequence == sequence
    assert caught.value.status == status


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x00\x00\x00\x10",
        SUBMIT[:-1],
        SUBMIT + b"\x00",
        hexbytes("0000000F 00000015 00000000 00000001"),
    ],
)
def test_decode_rejects_frames_that_are_not_one_whole_frame(frame: bytes) -> None:
    with pytest.raises(SmppDecodeError) as caught:
        decode(frame)
    assert caught.value.command_id is None


def test_reader_goes_on_after_a_malformed_but_framed_pdu() -> None:
    bad = with_body(CommandId.SUBMIT_SM, b"\x00\x01", sequence=42)
    reader = PduReader()
    reader.receive_data(encode(EnquireLink(sequence=1)) + bad + encode(EnquireLink(sequence=2)))
    assert reader.next_pdu() == EnquireLink(sequence=1)
    with pytest.raises(SmppDecodeError) as caught:
        reader.next_pdu()
    assert (caught.value.command_id, caught.value.sequence) == (CommandId.SUBMIT_SM, 42)
    assert reader.next_pdu() == EnquireLink(sequence=2)
    assert reader.next_pdu() is None


@pytest.mark.parametrize("length", [0, 15, MAX_COMMAND_LENGTH + 1, 0xFFFFFFFF])
def test_reader_rejects_bad_length_without_buffering(length: int) -> None:
    reader = PduReader()
    reader.receive_data(struct.pack(">I", length))
    with pytest.raises(SmppDecodeError) as caught:
        reader.next_pdu()
    assert caught.value.command_id is None
    assert caught.value.status == CommandStatus.ESME_RINVCMDLEN
    reader.receive_data(b"\x00" * 1000)
    assert reader.buffered == 0
    with pytest.raises(SmppDecodeError):  # framing is lost for good
        reader.next_pdu()


def test_reader_accepts_a_full_message_payload() -> None:
    pdu = DataSm(
        sequence=1, source_addr="1" * 64, destination_addr="2" * 64, tlvs=(Tlv(0x0424, b"x" * 0xFFFF),)
    )
    reader = PduReader()
    reader.receive_data(encode(pdu))
    assert reader.next_pdu() == pdu


@given(st.binary(max_size=600))
def test_random_bytes_into_reader_only_raise_protocol_error(data: bytes) -> None:
    reader = PduReader()
    reader.receive_data(data)
    for _ in range(len(data)):
        try:
            if reader.next_pdu() is None:
                break
        except SmppDecodeError as exc:
            if exc.command_id is None:
                break


@given(
    st.sampled_from([*LAYOUTS, 0x00000003, 0x80000103 + 1]),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=300),
)
def test_random_bodies_decode_or_raise_protocol_error(command_id: int, sequence: int, body: bytes) -> None:
    try:
        decode(with_body(command_id, body, sequence))
    except ProtocolError as exc:
        assert isinstance(exc, SmppDecodeError)
        assert exc.sequence == sequence


@pytest.mark.parametrize(
    "pdu",
    [
        BindTransmitter(sequence=1, system_id="x" * 16),
        BindTransmitter(sequence=1, password="é" * 9),
        BindTransmitter(sequence=1, system_id="中"),
        BindTransmitter(sequence=1, system_id="a\x00b"),
        BindTransmitter(sequence=1, addr_ton=256),
        SubmitSm(sequence=1, short_message=b"x" * 255),
        SubmitSm(sequence=-1),
        SubmitSm(sequence=1, command_status=2**32),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(pdu: Pdu) -> None:
    with pytest.raises(ValueError):
        encode(pdu)
