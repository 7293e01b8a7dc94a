import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.sgip.pdu import SgipSequence


def test_format_is_node_timestamp_number_in_decimal() -> None:
    assert SgipSequence(3075112345, 1120203225, 7).format() == "3075112345-1120203225-7"
    # January timestamps have no leading zero on the wire either: they are plain integers.
    assert SgipSequence(1, 101000000, 0).format() == "1-101000000-0"


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF))
def test_parse_inverts_format(node_id: int, timestamp: int, number: int) -> None:
    sequence = SgipSequence(node_id, timestamp, number)
    assert SgipSequence.parse(sequence.format()) == sequence


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1-2",
        "1-2-3-4",
        "01-2-3",
        "1-2-+3",
        " 1-2-3",
        "1-2-3\n",
        "a-b-c",
        "1-2-4294967296",
        "1--2-3",
        "١-2-3",
    ],
)
def test_parse_rejects_anything_but_the_canonical_form(text: str) -> None:
    with pytest.raises(ValueError):
        SgipSequence.parse(text)


@pytest.mark.parametrize(("node_id", "timestamp", "number"), [(-1, 0, 0), (0, 1 << 32, 0), (0, 0, -5)])
def test_parts_must_be_unsigned_32_bit(node_id: int, timestamp: int, number: int) -> None:
    with pytest.raises(ValueError):
        SgipSequence(node_id, timestamp, number)


def test_sequences_are_hashable_values() -> None:
    assert {SgipSequence(1, 2, 3): "x"}[SgipSequence(1, 2, 3)] == "x"
