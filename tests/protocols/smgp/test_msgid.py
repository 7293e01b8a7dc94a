from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smgp.msgid import (
    MsgIdGenerator,
    MsgIdParts,
    build_msg_id,
    format_msg_id,
    group_msg_ids,
    msg_id_parts,
    parse_msg_id,
)

# The spec's example: SMGW 010061, 16 January 17:00, sequence 012345.
SPEC_ID = bytes.fromhex("01006101161700012345")


def test_spec_example() -> None:
    assert format_msg_id(SPEC_ID) == "01006101161700012345"
    assert parse_msg_id("01006101161700012345") == SPEC_ID
    assert msg_id_parts(SPEC_ID) == MsgIdParts("010061", month=1, day=16, hour=17, minute=0, sequence=12345)
    assert build_msg_id("010061", datetime(2003, 1, 16, 17, 0, 59), 12345) == SPEC_ID


@given(st.binary(min_size=10, max_size=10))
def test_text_form_round_trips_any_ten_octets(msg_id: bytes) -> None:
    text = format_msg_id(msg_id)
    assert len(text) == 20
    assert parse_msg_id(text) == msg_id
    assert parse_msg_id(text.lower()) == msg_id


@pytest.mark.parametrize("text", ["", "0100610116170001234", "010061011617000123456", "0100610116170001234G"])
def test_parse_refuses_what_is_not_twenty_hex_digits(text: str) -> None:
    with pytest.raises(ValueError):
        parse_msg_id(text)


def test_parts_refuse_a_non_bcd_id_from_a_peer() -> None:
    with pytest.raises(ProtocolError):
        msg_id_parts(bytes.fromhex("0A006101161700012345"))


def test_generator_counts_and_wraps_the_sequence() -> None:
    generator = MsgIdGenerator("010061", first_sequence=999_998)
    now = datetime(2024, 7, 5, 22, 7)
    assert [msg_id_parts(generator.next_id(now)).sequence for _ in range(3)] == [999_998, 999_999, 0]
    assert format_msg_id(generator.next_id(now)) == "01006107052207000001"


def test_generator_reserves_a_block_for_a_group_submit() -> None:
    generator = MsgIdGenerator("010061", first_sequence=999_999)
    now = datetime(2024, 7, 5, 22, 7)
    first = generator.next_id(now, count=3)
    assert [msg_id_parts(i).sequence for i in group_msg_ids(first, 3)] == [999_999, 0, 1]
    assert msg_id_parts(generator.next_id(now)).sequence == 2


def test_group_ids_keep_code_and_time() -> None:
    ids = group_msg_ids(SPEC_ID, 2)
    assert [format_msg_id(i) for i in ids] == ["01006101161700012345", "01006101161700012346"]
    assert group_msg_ids(bytes.fromhex("ffffffffffffffffffff"), 1) == [bytes.fromhex("ffffffffffffffffffff")]


@pytest.mark.parametrize("code", ["01006", "0100611", "01006a", "０１００６１"])
def test_gateway_code_is_six_ascii_digits(code: str) -> None:
    with pytest.raises(ValueError):
        MsgIdGenerator(code)


def test_out_of_range_arguments_are_value_errors() -> None:
    now = datetime(2024, 7, 5, 22, 7)
    with pytest.raises(ValueError):
        format_msg_id(bytes(9))
    with pytest.raises(ValueError):
        build_msg_id("010061", now, 1_000_000)
    with pytest.raises(ValueError):
        group_msg_ids(SPEC_ID, 0)
    with pytest.raises(ValueError):
        MsgIdGenerator("010061", first_sequence=-1)
    with pytest.raises(ValueError):
        MsgIdGenerator("010061").next_id(now, count=0)


@given(
    first=st.integers(0, 999_999),
    # A few moments, each perhaps several times over.
    times=st.lists(st.datetimes(), min_size=1, max_size=3).flatmap(
        lambda moments: st.lists(st.sampled_from(moments), min_size=1, max_size=6)
    ),
)
def test_generator_ids_are_code_minute_and_count(first: int, times: list[datetime]) -> None:
    generator = MsgIdGenerator("010061", first_sequence=first)
    for count, when in enumerate(times):
        expected = build_msg_id("010061", when, (first + count) % 1_000_000)
        if count % 2:  # either form counts
            assert generator.next_text(when) == format_msg_id(expected)
        else:
            assert generator.next_id(when) == expected
