from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.words import SensitiveWordFilter, normalize_text, searched_form
from tests.domain.lookalikes import FILLER, INVISIBLES, PUNCTUATION, SPACES, sprinkled


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


# Text around a word: no Chinese characters (the conversion to simplified characters reads phrases,
# and a neighbour can make one with the word's first or last character: 乾 alone is 干, in 乾隆 it
# stays) and no combining marks (NFKC composes one with the word's last letter).
CONTEXT = st.text(st.characters(exclude_categories=["Cs", "Lo", "Mn", "Mc", "Me"]), max_size=40)


@given(
    st.text(WORD_CHARS, min_size=1, max_size=6),
    CONTEXT,
    CONTEXT,
    st.lists(st.sampled_from(sorted(STYLES)), min_size=6, max_size=6),
)
def test_an_inserted_word_is_found_whatever_its_width_or_case(
    word: str, before: str, after: str, styles: list[str]
) -> None:
    styled = "".join(STYLES[style](c) for c, style in zip(word, styles, strict=False))
    assert word in SensitiveWordFilter([word, "无关词"]).find(before + styled + after)


# --- what a sender slips into a word ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "代\u200b开发票",  # zero-width space
        "赌\u00ad博",  # soft hyphen
        "赌\ufeff博",  # BOM
        "赌\u202e博",  # bidi override
        "代 开发票",
        "代\u3000开\t发\n票",
        "赌，博",
        "赌·博",
        "赌。、博",
        "赌*博",
        "賭博",  # traditional
        "賭 · 博",
        "代開發票",
    ],
)
def test_the_brief_s_examples_are_found(text: str) -> None:
    words = SensitiveWordFilter(["赌博", "代开发票"])
    assert words.first(f"您好{text}，再见") is not None


@given(
    st.text(WORD_CHARS, min_size=2, max_size=6),
    CONTEXT,
    CONTEXT,
    st.sampled_from(["invisible", "space", "punctuation", "any"]),
    st.data(),
)
def test_no_insertion_inside_a_word_escapes(
    word: str, before: str, after: str, kind: str, data: st.DataObject
) -> None:
    filler = {"invisible": INVISIBLES, "space": SPACES, "punctuation": PUNCTUATION, "any": FILLER}[kind]
    dressed = sprinkled(word, data, filler, inside_only=True)
    assert word in SensitiveWordFilter([word, "无关词"]).find(before + dressed + after)


# Listed words as an operator writes them, with their other form.
SIMPLIFIED_TRADITIONAL = [
    ("赌博", "賭博"),
    ("代开发票", "代開發票"),
    ("网络赌场", "網絡賭場"),
    ("枪支弹药", "槍支彈藥"),
    ("办证", "辦證"),
    ("贷款", "貸款"),
    ("刷单兼职", "刷單兼職"),
    ("翻墙", "翻牆"),
    ("发票", "發票"),
    ("六合彩", "六合彩"),
]


@given(st.sampled_from(SIMPLIFIED_TRADITIONAL), st.booleans(), CONTEXT, CONTEXT, st.data())
def test_simplified_and_traditional_forms_find_each_other_whatever_is_slipped_in(
    pair: tuple[str, str], list_simplified: bool, before: str, after: str, data: st.DataObject
) -> None:
    simplified, traditional = pair
    listed, sent = (simplified, traditional) if list_simplified else (traditional, simplified)
    for form in (sent, listed):
        dressed = sprinkled(form, data, FILLER, inside_only=True)
        assert SensitiveWordFilter([listed]).find(before + dressed + after) == [listed]


def test_a_word_listed_in_both_forms_is_one_entry_reporting_both() -> None:
    words = SensitiveWordFilter(["賭博", "赌博", "赌 博"])
    assert words.find("网上赌博") == ["賭博", "赌 博", "赌博"]
    assert searched_form("賭博") == searched_form("赌 博") == searched_form("赌博") == "赌博"


def test_a_listed_word_with_punctuation_matches_without_it() -> None:
    assert SensitiveWordFilter(["V.P.N"]).first("用vpn翻墙") == "V.P.N"


def test_a_word_made_only_of_skipped_characters_is_sought_as_written() -> None:
    words = SensitiveWordFilter(["！！！", "💊"])
    assert words.find("快来!!!买💊") == ["！！！", "💊"]
    assert words.find("快来！买") == []


def test_texts_without_the_word_stay_clean() -> None:
    words = SensitiveWordFilter(["赌博", "发票", "VPN"])
    for text in ("您的验证码是1234，5分钟内有效", "博客：赌 约", "您的订单已发货，请注意查收", "V P 呢"):
        assert words.find(text) == [], text
