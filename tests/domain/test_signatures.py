import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smsplatform.domain.canonical import INVISIBLE
from smsplatform.domain.signatures import (
    SignatureError,
    Signed,
    canonical_signature,
    is_valid_signature,
    split_signature,
    take_signature,
)
from tests.domain.lookalikes import INVISIBLES, SPACES, sprinkled


@pytest.mark.parametrize(
    "signature", ["【进制数据】", "【AB】", "【阿里云】", "【ACME-Inc】", "【一二三四五六七八九十一二】"]
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
        "【ACME Inc】",  # whitespace inside
        "【 进制数据】",
        "【进制数据\u3000】",
        "【进制数据\u200b】",  # not canonical: invisible characters are removed first
        "【进制数据\x00】",
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


# What a canonical signature may hold: no bracket, whitespace, control or invisible character.
NAMES = st.text(
    st.characters(exclude_characters="【】", exclude_categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Cs"]).filter(
        lambda c: ord(c) not in INVISIBLE
    ),
    min_size=2,
    max_size=12,
)
# Invisible characters next to a signature go with it (see the properties below).
TEXTS = st.text(
    st.characters(exclude_characters="【】", exclude_categories=["Cs"]).filter(
        lambda c: ord(c) not in INVISIBLE
    ),
    max_size=80,
)


@given(NAMES, TEXTS, st.booleans())
def test_signing_then_splitting_gives_both_back(name: str, text: str, at_head: bool) -> None:
    signature = f"【{name}】"
    content = signature + text if at_head else text + signature
    assert is_valid_signature(signature)
    assert split_signature(content) == (signature, text.strip())


# --- canonical signatures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("【甲公司\u200b】", "【甲公司】"),
        ("【\u202e司公甲】", "【司公甲】"),  # the bidi control goes: what it shows is what it is
        ("\ufeff【甲公司】", "【甲公司】"),
        ("【ＡＢ公司】", "【AB公司】"),
        ("【甲公司（北京）】", "【甲公司(北京)】"),
        ("【甲\u00ad公\u2060司\ufe0f】", "【甲公司】"),
    ],
)
def test_canonical_signature(written: str, canonical: str) -> None:
    assert canonical_signature(written) == canonical
    assert is_valid_signature(canonical)


def test_take_signature_gives_the_canonical_signature_and_what_is_sent() -> None:
    assert take_signature("【甲公司\u200b】您好") == Signed("【甲公司】", "您好", "【甲公司】您好")
    assert take_signature("\ufeff【甲公司】您好\u200d") == Signed(
        "【甲公司】", "您好\u200d", "【甲公司】您好\u200d"
    )
    assert take_signature("您好👨\u200d👩 \u200b【甲公司】\ufeff ") == Signed(
        "【甲公司】", "您好👨\u200d👩 \u200b", "您好👨\u200d👩 \u200b【甲公司】"
    )
    # Full-width forms name the same sub-account and are sent as written.
    assert take_signature("【ＡＢ公司】，您好") == Signed("【AB公司】", "，您好", "【ＡＢ公司】，您好")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("【甲公司 】您好", SignatureError.MALFORMED),
        ("【 甲公司】您好", SignatureError.MALFORMED),
        ("您好【甲\u3000公司】", SignatureError.MALFORMED),
        ("【甲\u200b】您好", SignatureError.MALFORMED),  # one visible character
        ("【甲公司\x00】您好", SignatureError.CONTROL),
        ("您好【甲\x7f公司】", SignatureError.CONTROL),
        ("\u200b您好", SignatureError.MISSING),
    ],
)
def test_take_signature_refusals(content: str, error: SignatureError) -> None:
    assert take_signature(content) is error


@given(NAMES, TEXTS, st.booleans(), st.data())
def test_invisible_characters_in_and_around_a_signature_change_nothing(
    name: str, text: str, at_head: bool, data: st.DataObject
) -> None:
    signature = f"【{name}】"
    assume(canonical_signature(signature) == signature and text.strip() and not text.strip().startswith("【"))
    dressed = sprinkled(signature, data, INVISIBLES, inside_only=True)
    # Invisible characters between the signature and its end of the content go too.
    edge = "".join(data.draw(st.lists(INVISIBLES, max_size=3)))
    content = edge + dressed + text if at_head else text + dressed + edge
    taken = take_signature(content)
    assert isinstance(taken, Signed)
    assert taken.signature == signature
    assert taken.content == (signature + text if at_head else text + signature).strip()


@given(NAMES, st.data())
def test_whitespace_inside_a_signature_is_malformed(name: str, data: st.DataObject) -> None:
    dressed = sprinkled(name, data, SPACES)
    assume(dressed != name)
    assert take_signature(f"【{dressed}】您好") is SignatureError.MALFORMED
    assert not is_valid_signature(canonical_signature(f"【{dressed}】"))


def test_a_signature_error_is_the_api_code() -> None:
    assert SignatureError.CONTROL.value == 232
