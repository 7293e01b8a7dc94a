import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.signatures import SignatureError, is_valid_signature, split_signature


@pytest.mark.parametrize(
    "signature", ["【进制数据】", "【AB】", "【阿里云】", "【ACME Inc】", "【一二三四五六七八九十一二】"]
)
def test_valid_signatures(signature: str) -> None:
    assert is_valid_signature(signature)


@pytest.mark.parametrize(
    "signature",
    [
        "【A】",  # 1 character
        "【一二三四五六七八九十一二三】",  # 13 characters
        "【】",
        "【进制\n数据】",
        "【进【制】",
        "进制数据",
        "[进制数据]",
        "【进制数据",
        " 【进制数据】",
        "【进制数据】x",
    ],
)
def test_invalid_signatures(signature: str) -> None:
    assert not is_valid_signature(signature)


def test_signature_at_head_or_tail_is_split_off() -> None:
    assert split_signature("【进制数据】用户您好。") == ("【进制数据】", "用户您好。")
    assert split_signature("用户您好。【进制数据】") == ("【进制数据】", "用户您好。")
    assert split_signature("  【进制数据】 用户您好。\n") == ("【进制数据】", "用户您好。")
    assert split_signature("【进制数据】") == ("【进制数据】", "")


def test_head_signature_wins_over_tail() -> None:
    assert split_signature("【甲公司】您好【乙公司】") == ("【甲公司】", "您好【乙公司】")


def test_a_valid_end_wins_over_a_broken_one() -> None:
    assert split_signature("【A】您好【乙公司】") == ("【乙公司】", "【A】您好")


def test_brackets_inside_the_text_are_not_a_signature() -> None:
    assert split_signature("您好【通知】请查收") is SignatureError.MISSING


@pytest.mark.parametrize("content", ["", "   ", "用户您好。", "您的验证码是123456"])
def test_missing(content: str) -> None:
    assert split_signature(content) is SignatureError.MISSING


@pytest.mark.parametrize(
    "content",
    [
        "【A】用户您好",  # too short
        "用户您好【一二三四五六七八九十一二三】",  # too long
        "【进制数据用户您好",  # never closed
        "用户您好【进制数据",
        "进制数据】用户您好",  # never opened
        "用户您好进制数据】",
        "【进制\n数据】用户您好",
    ],
)
def test_malformed(content: str) -> None:
    assert split_signature(content) is SignatureError.MALFORMED


def test_error_values_are_the_api_codes() -> None:
    assert SignatureError.MISSING.value == 211
    assert SignatureError.MALFORMED.value == 212


NAMES = st.text(
    st.characters(exclude_characters="【】", exclude_categories=["Cc", "Zl", "Zp", "Cs"]),
    min_size=2,
    max_size=12,
)
TEXTS = st.text(st.characters(exclude_characters="【】", exclude_categories=["Cs"]), max_size=80)


@given(NAMES, TEXTS, st.booleans())
def test_signing_then_splitting_gives_both_back(name: str, text: str, at_head: bool) -> None:
    signature = f"【{name}】"
    content = signature + text if at_head else text + signature
    assert is_valid_signature(signature)
    assert split_signature(content) == (signature, text.strip())
