import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smgp.codec import (
    MAX_PACKET_LENGTH,
    PduReader,
    decode,
    encode,
)
from smsplatform.protocols.smgp.errors import PduDecodeError
from smsplatform.protocols.smgp.pdu import (
    ActiveTest,
    ActiveTestResp,
    CommandId,
    Deliver,
    DeliverResp,
    Exit,
    Login,
    LoginMode,
    LoginResp,
    MsgFormat,
    MsgType,
    Pdu,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.smgp.tlv import Tlv, TlvTag, udhi_tlv

from .strategies import pdus


def header(length: int, command_id: int, sequence: int) -> bytes:
    return struct.pack(">III", length, command_id, sequence)


def nul_padded(text: bytes, width: int) -> bytes:
    return text + b"\x00" * (width - len(text))


# --- byte vectors -------------------------------------------------------------------------------


def test_login_vector_with_digest_over_id_zeros_secret_and_timestamp() -> None:
    # 0x11F0E540 is the spec's own example: 1 March 00:00:00 -> "0301000000".
    digest = hashlib.md5(b"106901" + b"\x00" * 7 + b"s3cret" + b"0301000000").digest()
    login = Login(
        sequence=1,
        client_id="106901",
        authenticator_client=digest,
        login_mode=LoginMode.TRANSMIT,
        timestamp=0x11F0E540,
        client_version=0x30,
    )
    expected = (
        bytes.fromhex("0000002a 00000001 00000001")
        + b"106901\x00\x00"
        + digest
        + b"\x02"
        + bytes.fromhex("11f0e540")
        + b"\x30"
    )
    assert encode(login) == expected
    assert decode(expected) == login


def test_login_resp_vector() -> None:
    frame = bytes.fromhex("00000021 80000001 00000001") + bytes.fromhex("00000015") + b"\x00" * 16 + b"\x30"
    assert decode(frame) == LoginResp(1, status=21)
    assert encode(LoginResp(1, status=21)) == frame


def test_submit_vector_follows_the_field_table() -> None:
    content = "你好".encode("gbk")
    submit = Submit(
        sequence=0x0102,
        msg_type=MsgType.MT,
        need_report=1,
        priority=1,
        service_id="PC2P",
        fee_type="01",
        fee_code="10",
        fixed_fee="0",
        msg_format=MsgFormat.GB,
        valid_time="",
        at_time="",
        src_term_id="1181234",
        charge_term_id="",
        dest_term_ids=("13300000001", "13300000002"),
        msg_content=content,
        reserve="",
        tlvs=(Tlv(TlvTag.PK_TOTAL, b"\x01"), Tlv(TlvTag.PK_NUMBER, b"\x01")),
    )
    body = (
        b"\x06\x01\x01"
        + nul_padded(b"PC2P", 10)
        + b"01"
        + nul_padded(b"10", 6)
        + nul_padded(b"0", 6)
        + b"\x0f"
        + b"\x00" * 17
        + b"\x00" * 17
        + nul_padded(b"1181234", 21)
        + b"\x00" * 21
        + b"\x02"
        + nul_padded(b"13300000001", 21)
        + nul_padded(b"13300000002", 21)
        + b"\x04"
        + content
        + b"\x00" * 8
        + bytes.fromhex("0009 0001 01  000a 0001 01")
    )
    # Fixed part 105 octets, 21 per recipient, MsgLength, content, Reserve 8, two 5-octet TLVs.
    assert len(body) == 105 + 2 * 21 + 1 + 4 + 8 + 10
    assert encode(submit) == header(12 + len(body), 0x00000002, 0x0102) + body
    assert decode(encode(submit)) == submit


@pytest.mark.parametrize("recipients", [1, 7, 100])
@pytest.mark.parametrize("content_length", [0, 140, 255])
def test_submit_total_length(recipients: int, content_length: int) -> None:
    submit = Submit(
        sequence=9,
        dest_term_ids=tuple(f"1330000{n:04d}" for n in range(recipients)),
        msg_content=b"x" * content_length,
    )
    frame = encode(submit)
    assert len(frame) == 12 + 105 + 21 * recipients + 1 + content_length + 8
    assert int.from_bytes(frame[:4], "big") == len(frame)


def test_submit_resp_and_active_test_vectors() -> None:
    msg_id = bytes.fromhex("01006101161700012345")
    frame = bytes.fromhex("0000001a 80000002 0000002a") + msg_id + bytes.fromhex("00000000")
    assert decode(frame) == SubmitResp(0x2A, msg_id=msg_id, status=0)
    assert encode(ActiveTest(7)) == bytes.fromhex("0000000c 00000004 00000007")
    assert encode(Exit(8)) == bytes.fromhex("0000000c 00000006 00000008")


def test_deliver_status_report_vector() -> None:
    msg_id = bytes.fromhex("01006101161700012345")
    report = (
        b"id:"
        + msg_id
        + b" sub:001 dlvrd:001 submit date:0301161700 done date:0301161702 stat:DELIVRD err:000 Text:"
        + nul_padded(b"005hello", 20)
    )
    assert len(report) == 122
    body = (
        bytes.fromhex("01006101161709000001")  # the report's own MsgID
        + b"\x01\x00"
        + b"20030116170200"
        + nul_padded(b"13300000001", 21)
        + nul_padded(b"1069001", 21)
        + bytes((len(report),))
        + report
        + b"\x00" * 8
    )
    frame = header(12 + len(body), 0x00000003, 77) + body
    deliver = decode(frame)
    assert deliver == Deliver(
        77,
        msg_id=bytes.fromhex("01006101161709000001"),
        is_report=1,
        msg_format=MsgFormat.ASCII,
        recv_time="20030116170200",
        src_term_id="13300000001",
        dest_term_id="1069001",
        msg_content=report,
    )
    assert encode(deliver) == frame


def test_deliver_mo_with_udhi_and_link_id() -> None:
    deliver = Deliver(
        3,
        msg_id=bytes(10),
        msg_format=MsgFormat.UCS2,
        msg_content=b"\x05\x00\x03\x2a\x02\x01\x00A",
        tlvs=(udhi_tlv(), Tlv(TlvTag.LINK_ID, b"abc".ljust(20, b"\x00")), Tlv(0x7777, b"kept")),
    )
    decoded = decode(encode(deliver))
    assert isinstance(decoded, Deliver)
    assert decoded.udhi
    assert decoded.link_id == "abc"
    assert decoded.tlvs[-1] == Tlv(0x7777, b"kept")


# --- round trips ----------------------------------------------------------------------------------


@given(pdus)
def test_every_pdu_round_trips(pdu: Pdu) -> None:
    frame = encode(pdu)
    assert int.from_bytes(frame[:4], "big") == len(frame)
    assert int.from_bytes(frame[4:8], "big") == pdu.command_id
    assert decode(frame) == pdu


@given(st.lists(pdus, max_size=6), st.data())
def test_reader_reassembles_any_split_of_a_stream(batch: list[Pdu], data: st.DataObject) -> None:
    stream = b"".join(encode(pdu) for pdu in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = PduReader()
    received: list[Pdu] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.receive_data(stream[start:end])
        while (pdu := reader.next_pdu()) is not None:
            received.append(pdu)
    assert received == batch
    assert reader.buffered == 0


def test_reader_holds_a_partial_frame() -> None:
    frame = encode(SubmitResp(5, msg_id=bytes(range(10)), status=1))
    reader = PduReader()
    reader.receive_data(frame[:-1])
    assert reader.next_pdu() is None
    assert reader.buffered == len(frame) - 1
    reader.receive_data(frame[-1:])
    assert reader.next_pdu() == SubmitResp(5, msg_id=bytes(range(10)), status=1)
    assert reader.next_pdu() is None


# --- malformed input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 11, MAX_PACKET_LENGTH + 1, 0xFFFFFFFF])
def test_reader_refuses_a_length_out_of_range_before_buffering(length: int) -> None:
    reader = PduReader()
    reader.receive_data(length.to_bytes(4, "big"))
    with pytest.raises(ProtocolError) as raised:
        reader.next_pdu()
    assert not isinstance(raised.value, PduDecodeError)
    assert reader.buffered == 0
    # The stream is out of step for good: more data does not revive it.
    reader.receive_data(encode(ActiveTest(1)))
    with pytest.raises(ProtocolError):
        reader.next_pdu()


def test_reader_goes_on_after_an_undecodable_body() -> None:
    good_before = encode(ActiveTest(1))
    truncated_submit_resp = header(12 + 5, CommandId.SUBMIT_RESP, 99) + b"\x01\x02\x03\x04\x05"
    good_after = encode(DeliverResp(2, msg_id=bytes(10), status=0))
    reader = PduReader()
    reader.receive_data(good_before + truncated_submit_resp + good_after)
    assert reader.next_pdu() == ActiveTest(1)
    with pytest.raises(PduDecodeError) as raised:
        reader.next_pdu()
    assert (raised.value.command_id, raised.value.sequence) == (CommandId.SUBMIT_RESP, 99)
    assert reader.next_pdu() == DeliverResp(2, msg_id=bytes(10), status=0)


def test_unknown_request_id_carries_its_ids() -> None:
    forward = header(12 + 3, 0x00000005, 1234) + b"abc"  # Forward: SMGW to SMGW only, not decoded here
    with pytest.raises(PduDecodeError) as raised:
        decode(forward)
    assert raised.value.command_id == 0x00000005
    assert raised.value.sequence == 1234


@pytest.mark.parametrize(
    "pdu",
    [
        Login(1, client_id="a", authenticator_client=bytes(16)),
        LoginResp(2, status=0),
        Submit(3, dest_term_ids=("1",)),
        SubmitResp(4),
        Deliver(5, msg_id=bytes(10)),
        DeliverResp(6),
    ],
    ids=lambda pdu: type(pdu).__name__,
)
def test_a_body_cut_short_is_a_decode_error_with_ids(pdu: Pdu) -> None:
    frame = encode(pdu)
    cut = frame[:-1]
    cut = (len(cut)).to_bytes(4, "big") + cut[4:]
    with pytest.raises(PduDecodeError) as raised:
        decode(cut)
    assert (raised.value.command_id, raised.value.sequence) == (pdu.command_id, pdu.sequence)


def test_content_longer_than_the_frame_is_a_decode_error() -> None:
    frame = bytearray(encode(Deliver(5, msg_id=bytes(10), msg_content=b"abc")))
    frame[12 + 10 + 1 + 1 + 14 + 21 + 21] = 200  # MsgLength claims more than the body holds
    with pytest.raises(PduDecodeError):
        decode(bytes(frame))


def test_more_than_100_destinations_is_a_decode_error() -> None:
    # Encode refuses them too: whatever decodes can be sent on as it came.
    frame = encode(Submit(5, dest_term_ids=("13800138000",) * 100))
    count_at = 12 + 104  # header, then MsgType .. ChargeTermID
    assert frame[count_at] == 100
    numbers_end = count_at + 1 + 100 * 21
    frame = (
        frame[:count_at] + bytes([101]) + frame[count_at + 1 : numbers_end] + bytes(21) + frame[numbers_end:]
    )
    frame = len(frame).to_bytes(4, "big") + frame[4:]
    with pytest.raises(PduDecodeError, match="DestTermIDCount 101"):
        decode(frame)


def test_a_tlv_running_past_the_body_is_a_decode_error() -> None:
    frame = encode(Submit(5, dest_term_ids=("1",))) + bytes.fromhex("0002 0005 01")
    frame = len(frame).to_bytes(4, "big") + frame[4:]
    with pytest.raises(PduDecodeError):
        decode(frame)


def test_decode_refuses_a_frame_that_is_not_one_frame() -> None:
    with pytest.raises(ProtocolError):
        decode(b"\x00\x00\x00\x0c\x00\x00")
    with pytest.raises(ProtocolError):
        decode(encode(ActiveTest(1)) + b"\x00")


def test_octets_after_a_fixed_body_are_ignored() -> None:
    frame = encode(ActiveTestResp(3)) + b"\x00\x00"
    frame = len(frame).to_bytes(4, "big") + frame[4:]
    assert decode(frame) == ActiveTestResp(3)


@given(st.lists(st.binary(max_size=64), max_size=10))
def test_random_bytes_only_ever_raise_protocol_error(chunks: list[bytes]) -> None:
    reader = PduReader()
    for chunk in chunks:
        reader.receive_data(chunk)
        try:
            while reader.next_pdu() is not None:
                pass
        except ProtocolError:
            pass


@given(
    st.lists(
        st.tuples(
            st.sampled_from([int(c) for c in CommandId]) | st.integers(0, 0xFFFFFFFF),
            st.integers(0, 0xFFFFFFFF),
            st.binary(max_size=300),
        ),
        max_size=8,
    )
)
def test_well_framed_garbage_is_one_error_per_frame(frames: list[tuple[int, int, bytes]]) -> None:
    reader = PduReader()
    reader.receive_data(b"".join(header(12 + len(body), cid, seq) + body for cid, seq, body in frames))
    for command_id, sequence, _ in frames:
        try:
            pdu = reader.next_pdu()
        except PduDecodeError as error:
            assert (error.command_id, error.sequence) == (command_id, sequence)
        else:
            assert pdu is not None
            assert (pdu.command_id, pdu.sequence) == (command_id, sequence)
    assert reader.next_pdu() is None


# --- values that do not fit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pdu",
    [
        Submit(1, src_term_id="1" * 22),
        Submit(1, dest_term_ids=("1",) * 101),
        Submit(1, msg_content=b"x" * 256),
        Submit(1, service_id="服务"),
        Submit(1, msg_type=256),
        Submit(1, tlvs=(Tlv(0x10000, b""),)),
        Deliver(1, msg_id=bytes(9)),
        Login(1, client_id="a", authenticator_client=bytes(15)),
        LoginResp(1, status=-1),
        ActiveTest(1 << 32),
    ],
)
def test_encoding_a_value_that_does_not_fit_is_a_value_error(pdu: Pdu) -> None:
    with pytest.raises(ValueError):
        encode(pdu)


def test_reader_takes_a_tighter_limit() -> None:
    reader = PduReader(max_packet_length=100)
    reader.receive_data(encode(Submit(1, dest_term_ids=("1",))))
    with pytest.raises(ProtocolError):
        reader.next_pdu()
