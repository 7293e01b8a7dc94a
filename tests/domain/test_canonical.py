import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.canonical import (
    INVISIBLE,
    canonical_text,
    has_control,
    has_invisible,
    remove_invisible,
)
from tests.domain.lookalikes import INVISIBLES, sprinkled


def test_every_format_character_is_invisible() -> None:
    format_characters = {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"}
    assert format_characters <= INVISIBLE
    # Default-ignorable beyond Cf: variation selectors, the combining grapheme joiner, Hangul fillers.
    assert {0xFE0F, 0x034F, 0x3164, 0xFFA0, 0xE0100} <= INVISIBLE
    # Nothing a reader sees.
    assert not {ord(c) for c in "甲A1 ，。@【】\n"} & INVISIBLE


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("甲公司\u200b", "甲公司"),
        ("\u202e司公甲", "司公甲"),
        ("ＡＢＣ１２３", "ABC123"),
        ("您好，再见", "您好,再见"),
        ("e\u200b\u0301", "é"),  # composed once the ZWSP is gone
        ("\uffa0甲", "甲"),  # NFKC's own invisible result goes too
        ("您好\n再见", "您好\n再见"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    assert canonical_text(text) == canonical


@given(st.text())
def test_canonical_text_is_idempotent_and_holds_nothing_invisible(text: str) -> None:
    canonical = canonical_text(text)
    assert canonical_text(canonical) == canonical
    assert not has_invisible(canonical)


@given(st.text(st.characters(exclude_categories=["Cs"])), st.data())
def test_inserted_invisible_characters_change_nothing(text: str, data: st.DataObject) -> None:
    clean = remove_invisible(text)
    assert canonical_text(sprinkled(clean, data, INVISIBLES)) == canonical_text(clean)


def test_control_characters() -> None:
    assert all(has_control(chr(cp)) for cp in [*range(0x20), *range(0x7F, 0xA0)])
    assert not has_control("甲公司 ，\u200b\u2028")
    assert has_control("a\nb") and not has_control("a\r\nb", line_breaks=True)
    assert has_control("a\tb", line_breaks=True) and has_control("a\x00b", line_breaks=True)
