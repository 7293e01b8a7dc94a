from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.cmpp.msgid import (
    MsgIdGenerator,
    MsgIdParts,
    format_msg_id,
    pack_msg_id,
    parse_msg_id,
    unpack_msg_id,
)
from smsplatform.protocols.errors import ProtocolError

parts = st.builds(
    MsgIdParts,
    month=st.integers(0, 15),
    day=st.integers(0, 31),
    hour=st.integers(0, 31),
    minute=st.integers(0, 63),
    second=st.integers(0, 63),
    gateway_id=st.integers(0, (1 << 22) - 1),
    sequence=st.integers(0, 0xFFFF),
)


def test_known_id_from_gocmpp() -> None:
    # 0xb2b9da8000010000 appears in gocmpp's SUBMIT_RESP test data as 12878564852733378560.
    data = bytes.fromhex("b2b9da8000010000")
    assert unpack_msg_id(data) == MsgIdParts(11, 5, 14, 29, 42, 1, 0)
    assert format_msg_id(data) == "12878564852733378560"


@pytest.mark.parametrize(
    ("part", "value", "expected"),
    [
        ("month", 12, 12 << 60),
        ("day", 31, 31 << 55),
        ("hour", 23, 23 << 50),
        ("minute", 59, 59 << 44),
        ("second", 59, 59 << 38),
        ("gateway_id", (1 << 22) - 1, ((1 << 22) - 1) << 16),
        ("sequence", 0xFFFF, 0xFFFF),
    ],
)
def test_each_part_sits_at_its_bits(part: str, value: int, expected: int) -> None:
    zero = MsgIdParts(0, 0, 0, 0, 0, 0, 0)
    assert pack_msg_id(zero._replace(**{part: value})) == expected.to_bytes(8, "big")


@given(parts)
def test_pack_unpack_round_trip(value: MsgIdParts) -> None:
    assert unpack_msg_id(pack_msg_id(value)) == value


@given(st.binary(min_size=8, max_size=8))
def test_every_eight_octets_unpack_and_format_back(data: bytes) -> None:
    assert pack_msg_id(unpack_msg_id(data)) == data
    assert parse_msg_id(format_msg_id(data)) == data


@pytest.mark.parametrize("part", ["month", "day", "hour", "minute", "second", "gateway_id", "sequence"])
def test_part_too_wide_is_refused(part: str) -> None:
    too_wide = {
        "month": 16,
        "day": 32,
        "hour": 32,
        "minute": 64,
        "second": 64,
        "gateway_id": 1 << 22,
        "sequence": 1 << 16,
    }
    with pytest.raises(ValueError):
        pack_msg_id(MsgIdParts(1, 1, 0, 0, 0, 0, 0)._replace(**{part: too_wide[part]}))


def test_wrong_size_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        unpack_msg_id(bytes(7))
    with pytest.raises(ProtocolError):
        format_msg_id(bytes(9))


def test_format_is_unsigned_decimal() -> None:
    assert format_msg_id(b"\xff" * 8) == str(2**64 - 1)
    assert format_msg_id(bytes(8)) == "0"


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.5", str(2**64), "１２"])
def test_parse_refuses_what_format_never_produces(text: str) -> None:
    with pytest.raises(ValueError):
        parse_msg_id(text)


def test_generator_takes_time_from_the_caller_and_counts() -> None:
    generator = MsgIdGenerator(gateway_id=79101)
    when = datetime(2025, 3, 14, 15, 9, 26)
    first, second = generator.next_id(when), generator.next_id(when)
    assert unpack_msg_id(first) == MsgIdParts(3, 14, 15, 9, 26, 79101, 0)
    assert unpack_msg_id(second).sequence == 1
    assert first != second


def test_generator_sequence_wraps_at_16_bits() -> None:
    generator = MsgIdGenerator(gateway_id=1, start_sequence=0xFFFF)
    when = datetime(2025, 1, 1)
    assert unpack_msg_id(generator.next_id(when)).sequence == 0xFFFF
    assert unpack_msg_id(generator.next_id(when)).sequence == 0


@given(
    gateway_id=st.integers(0, (1 << 22) - 1),
    start=st.integers(0, 0xFFFF),
    # A few seconds, each perhaps several times over.
    times=st.lists(st.datetimes(), min_size=1, max_size=3).flatmap(
        lambda seconds: st.lists(st.sampled_from(seconds), min_size=1, max_size=6)
    ),
)
def test_generator_ids_pack_the_time_gateway_and_count(
    gateway_id: int, start: int, times: list[datetime]
) -> None:
    generator = MsgIdGenerator(gateway_id, start_sequence=start)
    for count, when in enumerate(times):
        parts = MsgIdParts(
            when.month, when.day, when.hour, when.minute, when.second, gateway_id, (start + count) & 0xFFFF
        )
        if count % 2:  # either form counts
            assert generator.next_value(when).to_bytes(8, "big") == pack_msg_id(parts)
        else:
            assert generator.next_id(when) == pack_msg_id(parts)


def test_generator_refuses_a_gateway_id_wider_than_22_bits() -> None:
    with pytest.raises(ValueError):
        MsgIdGenerator(gateway_id=1 << 22)
