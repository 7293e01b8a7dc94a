from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.words import SensitiveWordFilter, normalize_text


def test_normalize_folds_width_and_case() -> None:
    assert normalize_text("ＡＢＣ１２３ａｂｃ") == "abc123abc"
    assert normalize_text("VPN\u3000Vpn") == "vpn vpn"
    assert normalize_text("中文，不变") == "中文,不变"


def test_normalize_keeps_length_where_folding_would_expand() -> None:
    text = "ß㈱ﬁİ…"
    assert len(normalize_text(text)) == len(text)


@given(st.text())
def test_normalize_preserves_length_and_is_idempotent(text: str) -> None:
    folded = normalize_text(text)
    assert len(folded) == len(text)
    assert normalize_text(folded) == folded


def test_find_reports_original_words_in_order_each_once() -> None:
    words = SensitiveWordFilter(["赌博", "VPN", "发票"])
    assert words.find("代开发票，ｖｐｎ翻墙，赌博，再开发票") == ["发票", "VPN", "赌博"]
    assert words.first("代开发票，ｖｐｎ翻墙") == "发票"
    assert words.find("干净的短信") == []
    assert words.first("干净的短信") is None


def test_overlapping_words_ordered_by_start() -> None:
    words = SensitiveWordFilter(["bc", "abcd"])
    assert words.find("xabcdx") == ["abcd", "bc"]


def test_words_folding_alike_are_all_reported() -> None:
    words = SensitiveWordFilter(["ＶＰＮ", "vpn"])
    assert words.find("use Vpn") == ["vpn", "ＶＰＮ"]


def test_words_property_is_sorted_stripped_and_deduplicated() -> None:
    words = SensitiveWordFilter([" 赌博 ", "VPN", "", "   ", "VPN"])
    assert words.words == ["VPN", "赌博"]
    assert len(words) == 2


def test_empty_list() -> None:
    words = SensitiveWordFilter([])
    assert words.words == []
    assert words.find("任何内容") == []
    assert words.first("任何内容") is None


# Sensitive words are Chinese, Latin letters and digits.
WORD_CHARS = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
)


def _wide(char: str) -> str:
    """The full-width twin of an ASCII letter or digit."""
    return chr(ord(char) + 0xFEE0) if char.isascii() else char


STYLES: dict[str, Callable[[str], str]] = {"upper": str.upper, "lower": str.lower, "wide": _wide}


@given(
    st.text(WORD_CHARS, min_size=1, max_size=6),
    st.text(max_size=40),
    st.text(max_size=40),
    st.lists(st.sampled_from(sorted(STYLES)), min_size=6, max_size=6),
)
def test_an_inserted_word_is_found_whatever_its_width_or_case(
    word: str, before: str, after: str, styles: list[str]
) -> None:
    styled = "".join(STYLES[style](c) for c, style in zip(word, styles, strict=False))
    assert word in SensitiveWordFilter([word, "无关词"]).find(before + styled + after)
