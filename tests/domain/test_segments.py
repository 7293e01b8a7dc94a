import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.segments import (
    MULTI_LIMIT,
    SINGLE_LIMIT,
    count_chars,
    count_segments,
    split_segments,
)


def test_every_character_counts_one() -> None:
    assert count_chars("【进制数据】用户您好。") == 11
    assert count_chars("abc 123") == 7
    assert count_chars("😀") == 1
    assert count_chars("") == 0


def test_a_surrogate_pair_left_in_the_text_counts_once() -> None:
    assert count_chars("\ud83d\ude00") == 1
    # A lone surrogate is still a character of its own.
    assert count_chars("😀\ud83d") == 2
    assert count_chars("\ude00\ud83d") == 2


@pytest.mark.parametrize(
    ("chars", "segments"),
    [(0, 1), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4), (500, 8)],
)
def test_segment_counts(chars: int, segments: int) -> None:
    assert count_segments("通" * chars) == segments
    assert len(split_segments("通" * chars)) == segments


def test_short_text_is_one_segment_as_is() -> None:
    assert split_segments("") == [""]
    assert split_segments("a" * SINGLE_LIMIT) == ["a" * SINGLE_LIMIT]


def test_long_text_is_cut_in_67s() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(150))
    parts = split_segments(text)
    assert [len(part) for part in parts] == [67, 67, 16]
    assert "".join(parts) == text


def test_split_never_cuts_a_stray_surrogate_pair() -> None:
    text = "a" * 66 + "\ud83d\ude00" + "b" * 10
    parts = split_segments(text)
    assert parts == ["a" * 66 + "\ud83d\ude00", "b" * 10]


@given(st.lists(st.one_of(st.characters(), st.just("\ud83d\ude00")), max_size=300).map("".join))
def test_split_covers_the_text_exactly(text: str) -> None:
    parts = split_segments(text)
    assert "".join(parts) == text
    assert sum(count_chars(part) for part in parts) == count_chars(text)
    assert len(parts) == count_segments(text)
    if count_chars(text) > SINGLE_LIMIT:
        assert all(count_chars(part) == MULTI_LIMIT for part in parts[:-1])
        assert 1 <= count_chars(parts[-1]) <= MULTI_LIMIT
