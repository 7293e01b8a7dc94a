import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.sgip.codec import (
    HEADER_LENGTH,
    MAX_FRAME_LENGTH,
    PduReader,
    decode,
    encode,
)
from smsplatform.protocols.sgip.errors import PduDecodeError
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    CommandId,
    Deliver,
    DeliverResp,
    LoginType,
    MessageCoding,
    Pdu,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
    UserRpt,
    UserRptResp,
)

SEQ = SgipSequence(3075112345, 1120203225, 1)
SEQ_HEX = "b74a7d9942c4f1d900000001"  # 3075112345, 1120203225, 1 as three big-endian u32


def nul_padded(text: str, width: int) -> bytes:
    return text.encode("ascii") + b"\0" * (width - len(text))


# --- byte vectors written from the field tables of spec §4.2 ---


def test_bind_encodes_to_the_spec_layout() -> None:
    pdu = Bind(sequence=SEQ, login_type=LoginType.SP_TO_SMG, login_name="sp001", login_password="secret")
    expected = bytes.fromhex(
        "0000003d"  # Message Length: 20 header + 1 + 16 + 16 + 8
        "00000001"  # SGIP_BIND
        + SEQ_HEX
        + "01"  # Login Type: SP to SMG
        + "7370303031"
        + "00" * 11  # Login Name "sp001"
        + "736563726574"
        + "00" * 10  # Login Password "secret"
        + "00" * 8  # Reserve
    )
    assert encode(pdu) == expected
    assert decode(expected) == pdu


def test_bind_resp_vector() -> None:
    frame = bytes.fromhex("0000001d80000001" + SEQ_HEX + "01" + "00" * 8)
    assert decode(frame) == BindResp(sequence=SEQ, result=1)
    assert encode(BindResp(sequence=SEQ, result=1)) == frame


def test_unbind_has_no_body() -> None:
    assert encode(Unbind(sequence=SEQ)) == bytes.fromhex("0000001400000002" + SEQ_HEX)
    assert encode(UnbindResp(sequence=SEQ)) == bytes.fromhex("0000001480000002" + SEQ_HEX)


# (field, width) of the Submit table 4-17, for one UserNumber and a 5-octet content.
SUBMIT_FIELDS = [
    ("SPNumber", 21),
    ("ChargeNumber", 21),
    ("UserCount", 1),
    ("UserNumber", 21),
    ("CorpId", 5),
    ("ServiceType", 10),
    ("FeeType", 1),
    ("FeeValue", 6),
    ("GivenValue", 6),
    ("AgentFlag", 1),
    ("MorelatetoMTFlag", 1),
    ("Priority", 1),
    ("ExpireTime", 16),
    ("ScheduleTime", 16),
    ("ReportFlag", 1),
    ("TP_pid", 1),
    ("TP_udhi", 1),
    ("MessageCoding", 1),
    ("MessageType", 1),
    ("MessageLength", 4),
    ("MessageContent", 5),
    ("Reserve", 8),
]


def test_submit_with_one_number_has_the_length_of_the_field_table() -> None:
    pdu = Submit(
        sequence=SEQ,
        sp_number="10655001",
        charge_number="000000000000000000000",
        user_numbers=("8613001125453",),
        corp_id="12345",
        service_type="HELP",
        fee_type=2,
        fee_value="10",
        given_value="0",
        agent_flag=1,
        morelateto_mt_flag=2,
        priority=3,
        expire_time="240101120000032+",
        schedule_time="",
        report_flag=1,
        tp_pid=0,
        tp_udhi=1,
        message_coding=MessageCoding.GBK,
        message_type=0,
        message_content=b"hello",
    )
    frame = encode(pdu)
    expected_length = HEADER_LENGTH + sum(width for _, width in SUBMIT_FIELDS)
    assert expected_length == 169
    assert len(frame) == expected_length
    assert frame[:8] == struct.pack(">II", expected_length, 0x3)
    expected = (
        bytes.fromhex(f"{expected_length:08x}00000003" + SEQ_HEX)
        + nul_padded("10655001", 21)
        + b"0" * 21
        + bytes([1])
        + nul_padded("8613001125453", 21)
        + b"12345"
        + nul_padded("HELP", 10)
        + bytes([2])
        + nul_padded("10", 6)
        + nul_padded("0", 6)
        + bytes([1, 2, 3])  # AgentFlag, MorelatetoMTFlag, Priority
        + b"240101120000032+"  # ExpireTime
        + b"\0" * 16  # ScheduleTime
        + bytes([1, 0, 1, 15, 0])  # ReportFlag, TP_pid, TP_udhi, MessageCoding, MessageType
        + struct.pack(">I", 5)
        + b"hello"
        + b"\0" * 8
    )
    assert frame == expected
    assert decode(frame) == pdu


def test_submit_grows_by_21_octets_per_user_number() -> None:
    one = Submit(
        sequence=SEQ, sp_number="1065", user_numbers=("86130",), message_coding=0, message_content=b""
    )
    three = Submit(
        sequence=SEQ,
        sp_number="1065",
        user_numbers=("86130", "86131", "86132"),
        message_coding=0,
        message_content=b"",
    )
    assert len(encode(three)) - len(encode(one)) == 2 * 21


def test_report_vector() -> None:
    submit_sequence = SgipSequence(3075112345, 1120203225, 7)
    pdu = Report(
        sequence=SgipSequence(1075100001, 1120203230, 2),
        submit_sequence=submit_sequence,
        report_type=0,
        user_number="8613001125453",
        state=2,
        error_code=25,
    )
    expected = (
        struct.pack(">II", 20 + 12 + 1 + 21 + 1 + 1 + 8, 0x5)
        + struct.pack(">III", 1075100001, 1120203230, 2)
        + bytes.fromhex("b74a7d9942c4f1d900000007")  # SubmitSequenceNumber
        + b"\0"  # ReportType: Submit
        + nul_padded("8613001125453", 21)
        + b"\x02"  # State: failed
        + b"\x19"  # ErrorCode 25
        + b"\0" * 8
    )
    assert encode(pdu) == expected
    assert decode(expected) == pdu


def test_userrpt_vector() -> None:
    frame = (
        struct.pack(">II", 20 + 21 + 21 + 1 + 8, 0x11)
        + bytes.fromhex(SEQ_HEX)
        + nul_padded("10655001", 21)
        + nul_padded("8613001125453", 21)
        + b"\x01"  # UserCondition: suspended for arrears
        + b"\0" * 8
    )
    pdu = UserRpt(sequence=SEQ, sp_number="10655001", user_number="8613001125453", user_condition=1)
    assert decode(frame) == pdu
    assert encode(pdu) == frame


def test_deliver_decodes_mo_from_bytes() -> None:
    content = bytes.fromhex("050003a70201") + "退订".encode("utf-16-be")  # part 1 of 2, with UDH
    frame = (
        struct.pack(">II", 20 + 21 + 21 + 1 + 1 + 1 + 4 + len(content) + 8, 0x4)
        + bytes.fromhex(SEQ_HEX)
        + nul_padded("8613001125453", 21)
        + nul_padded("106550011234", 21)
        + bytes([0, 1, 8])  # TP_pid, TP_udhi, MessageCoding
        + struct.pack(">I", len(content))
        + content
        + b"\0" * 8
    )
    assert decode(frame) == Deliver(
        sequence=SEQ,
        user_number="8613001125453",
        sp_number="106550011234",
        message_coding=MessageCoding.UCS2,
        message_content=content,
        tp_udhi=1,
    )


def test_text_ends_at_the_first_nul_even_if_junk_follows() -> None:
    frame = (
        bytes.fromhex("0000003d00000001" + SEQ_HEX)
        + b"\x01"
        + b"sp\0garbage\xff\xff\0\0\0\0"  # 16 octets
        + b"pw"
        + b"\0" * 22
    )
    pdu = decode(frame)
    assert isinstance(pdu, Bind)
    assert (pdu.login_name, pdu.login_password) == ("sp", "pw")


# --- round trips ---


def ascii_text(width: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=width)


u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
sequences = st.builds(SgipSequence, u32, u32, u32)
contents = st.binary(max_size=300)
phones = ascii_text(21)
reserves = ascii_text(8)

pdus: st.SearchStrategy[Pdu] = st.one_of(
    st.builds(
        Bind,
        sequence=sequences,
        login_type=u8,
        login_name=ascii_text(16),
        login_password=ascii_text(16),
        reserve=reserves,
    ),
    st.builds(Unbind, sequence=sequences),
    st.builds(UnbindResp, sequence=sequences),
    st.builds(
        Submit,
        sequence=sequences,
        sp_number=phones,
        charge_number=phones,
        user_numbers=st.lists(phones, min_size=1, max_size=100).map(tuple),
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
        message_coding=u8,
        message_type=u8,
        message_content=contents,
        reserve=reserves,
    ),
    st.builds(
        Deliver,
        sequence=sequences,
        user_number=phones,
        sp_number=phones,
        tp_pid=u8,
        tp_udhi=u8,
        message_coding=u8,
        message_content=contents,
        reserve=reserves,
    ),
    st.builds(
        Report,
        sequence=sequences,
        submit_sequence=sequences,
        report_type=u8,
        user_number=phones,
        state=u8,
        error_code=u8,
        reserve=reserves,
    ),
    st.builds(
        UserRpt, sequence=sequences, sp_number=phones, user_number=phones, user_condition=u8, reserve=reserves
    ),
    *(
        st.builds(response, sequence=sequences, result=u8, reserve=reserves)
        for response in (BindResp, SubmitResp, DeliverResp, ReportResp, UserRptResp)
    ),
)


@given(pdus)
def test_every_pdu_survives_a_round_trip(pdu: Pdu) -> None:
    frame = encode(pdu)
    assert struct.unpack_from(">II", frame) == (len(frame), pdu.command_id)
    assert decode(frame) == pdu


@given(st.lists(pdus, max_size=5), st.data())
def test_reader_reassembles_frames_split_anywhere(batch: list[Pdu], data: st.DataObject) -> None:
    stream = b"".join(encode(pdu) for pdu in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = PduReader()
    received: list[Pdu] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.receive_data(stream[start:end])
        while (pdu := reader.next_pdu()) is not None:
            received.append(pdu)
    assert received == batch
    assert reader.buffered == 0


# --- hostile input ---


@given(st.binary(max_size=200))
def test_decode_of_random_bytes_raises_only_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(data)


@given(st.lists(st.binary(max_size=80), max_size=8))
def test_reader_fed_random_bytes_raises_only_protocol_error(chunks: list[bytes]) -> None:
    reader = PduReader()
    for chunk in chunks:
        reader.receive_data(chunk)
        for _ in range(10):
            try:
                if reader.next_pdu() is None:
                    break
            except ProtocolError:
                pass


@given(st.binary(min_size=24, max_size=120))
def test_reader_fed_frames_with_random_bodies_raises_only_protocol_error(body: bytes) -> None:
    # Valid lengths and command ids, arbitrary content: exercises every body decoder, not just framing.
    reader = PduReader()
    for command_id in CommandId:
        reader.receive_data(struct.pack(">II", 8 + len(body), command_id) + body)
        try:
            reader.next_pdu()
        except PduDecodeError as error:
            assert error.command_id == command_id
    assert reader.buffered == 0


def test_reader_waits_for_the_rest_of_a_truncated_frame() -> None:
    frame = encode(SubmitResp(sequence=SEQ, result=0))
    reader = PduReader()
    reader.receive_data(frame[:3])
    assert reader.next_pdu() is None
    reader.receive_data(frame[3:-1])
    assert reader.next_pdu() is None
    assert reader.buffered == len(frame) - 1
    reader.receive_data(frame[-1:])
    assert reader.next_pdu() == SubmitResp(sequence=SEQ, result=0)
    assert reader.next_pdu() is None


@pytest.mark.parametrize("length", [0, HEADER_LENGTH - 1, MAX_FRAME_LENGTH + 1, 0xFFFFFFFF])
def test_reader_rejects_impossible_lengths_without_buffering(length: int) -> None:
    reader = PduReader()
    reader.receive_data(struct.pack(">I", length))
    with pytest.raises(ProtocolError) as raised:
        reader.next_pdu()
    assert not isinstance(raised.value, PduDecodeError)
    reader.receive_data(b"\0" * 1000)
    assert reader.buffered == 0
    with pytest.raises(ProtocolError):
        reader.next_pdu()


def test_reader_honours_a_smaller_maximum() -> None:
    reader = PduReader(max_frame_length=64)
    reader.receive_data(
        encode(
            Submit(sequence=SEQ, sp_number="1", user_numbers=("8613",), message_coding=0, message_content=b"")
        )
    )
    with pytest.raises(ProtocolError):
        reader.next_pdu()


def test_reader_goes_on_after_a_well_framed_bad_body() -> None:
    good = encode(DeliverResp(sequence=SEQ, result=0))
    bad_submit = bytearray(
        encode(
            Submit(
                sequence=SEQ, sp_number="1065", user_numbers=("8613",), message_coding=0, message_content=b""
            )
        )
    )
    bad_submit[HEADER_LENGTH + 42] = 0  # UserCount 0
    reader = PduReader()
    reader.receive_data(bytes(bad_submit) + good)
    with pytest.raises(PduDecodeError) as raised:
        reader.next_pdu()
    assert raised.value.command_id == CommandId.SUBMIT
    assert raised.value.sequence == SEQ
    assert reader.next_pdu() == DeliverResp(sequence=SEQ, result=0)


def test_unknown_command_id_names_itself_and_reading_goes_on() -> None:
    add_sp = struct.pack(">II", 20 + 50, 0x6) + bytes.fromhex(SEQ_HEX) + b"\0" * 50
    reader = PduReader()
    reader.receive_data(add_sp + encode(Unbind(sequence=SEQ)))
    with pytest.raises(PduDecodeError) as raised:
        reader.next_pdu()
    assert (raised.value.command_id, raised.value.sequence) == (0x6, SEQ)
    assert reader.next_pdu() == Unbind(sequence=SEQ)


def frame_with_body(command_id: int, body: bytes) -> bytes:
    return struct.pack(">II", HEADER_LENGTH + len(body), command_id) + bytes.fromhex(SEQ_HEX) + body


@pytest.mark.parametrize(
    ("command_id", "body"),
    [
        pytest.param(0x1, b"\x01" + b"\0" * 39, id="bind one octet short"),
        pytest.param(0x80000003, b"\0" * 10, id="response one octet long"),
        pytest.param(0x2, b"\0", id="unbind with a body"),
        pytest.param(0x1, b"\x01" + "登录".encode("gbk") + b"\0" * 36, id="non-ASCII login name"),
        pytest.param(
            0x4,
            b"\0" * 42 + bytes(3) + struct.pack(">I", 100) + b"abc" + b"\0" * 8,
            id="MessageLength beyond the body",
        ),
        pytest.param(0x3, b"\0" * 42 + bytes([101]) + b"\0" * 3000, id="more than 100 user numbers"),
    ],
)
def test_malformed_bodies_raise_with_the_command_identity(command_id: int, body: bytes) -> None:
    with pytest.raises(PduDecodeError) as raised:
        decode(frame_with_body(command_id, body))
    assert raised.value.command_id == command_id
    assert raised.value.sequence == SEQ


def test_decode_needs_exactly_one_frame() -> None:
    frame = encode(Unbind(sequence=SEQ))
    for wrong in (frame + b"\0", frame[:-1], frame[: HEADER_LENGTH - 1]):
        with pytest.raises(ProtocolError):
            decode(wrong)


@pytest.mark.parametrize(
    "pdu",
    [
        pytest.param(
            Bind(sequence=SEQ, login_type=1, login_name="x" * 17, login_password=""), id="text too long"
        ),
        pytest.param(
            Bind(sequence=SEQ, login_type=1, login_name="名", login_password=""), id="text not ASCII"
        ),
        pytest.param(
            Bind(sequence=SEQ, login_type=1, login_name="a\0b", login_password=""), id="text with NUL"
        ),
        pytest.param(
            Bind(sequence=SEQ, login_type=256, login_name="", login_password=""), id="octet overflow"
        ),
        pytest.param(SubmitResp(sequence=SEQ, result=-1), id="negative octet"),
        pytest.param(
            Submit(sequence=SEQ, sp_number="1", user_numbers=(), message_coding=0, message_content=b""),
            id="no user numbers",
        ),
        pytest.param(
            Submit(
                sequence=SEQ, sp_number="1", user_numbers=("1",) * 101, message_coding=0, message_content=b""
            ),
            id="too many user numbers",
        ),
        pytest.param(
            Deliver(
                sequence=SEQ,
                user_number="1",
                sp_number="1",
                message_coding=4,
                message_content=bytes(MAX_FRAME_LENGTH),
            ),
            id="frame too large",
        ),
    ],
)
def test_encode_refuses_fields_that_do_not_fit(pdu: Pdu) -> None:
    with pytest.raises(ValueError):
        encode(pdu)
