import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smsplatform.domain.canonical import canonical_text
from smsplatform.domain.templates import (
    OPT_OUT_TEXTS,
    TemplateKind,
    TemplateMatch,
    TemplateMatcher,
    TemplateRow,
    TemplateStatus,
    classify,
    review,
    strip_template_signature,
)
from smsplatform.domain.words import SensitiveWordFilter
from tests.domain.lookalikes import INVISIBLES, sprinkled

PENDING, APPROVED, REJECTED = TemplateStatus.PENDING, TemplateStatus.APPROVED, TemplateStatus.REJECTED
NO_WORDS = SensitiveWordFilter([])


def test_classify() -> None:
    assert classify("您的验证码是@", ismarket=True) is TemplateKind.MARKETING
    assert classify("您的验证码是@", ismarket=False) is TemplateKind.VERIFICATION
    assert classify("您的校验码：@", ismarket=False) is TemplateKind.VERIFICATION
    assert classify("动态码@，请勿泄露", ismarket=False) is TemplateKind.VERIFICATION
    assert classify("您的订单@已发货", ismarket=False) is TemplateKind.NOTIFICATION


def test_kind_values_are_stable_keys() -> None:
    assert [kind.value for kind in TemplateKind] == ["marketing", "verification", "notification"]


def test_strip_template_signature() -> None:
    assert strip_template_signature("用户您好。【进制数据】") == "用户您好。"
    assert strip_template_signature("【进制数据】用户您好。") == "用户您好。"
    assert strip_template_signature(" 用户您好。 ") == "用户您好。"
    assert strip_template_signature("【A】用户您好。") == "【A】用户您好。"


class TestReview:
    def test_acceptable_templates_pass(self) -> None:
        assert review("您的验证码是@，5分钟内有效", False, NO_WORDS) is None
        assert review("用户您好。【进制数据】", False, NO_WORDS) is None
        assert review("双十一全场五折，回TD退订", True, NO_WORDS) is None
        assert review("双十一全场五折，拒收请回复R", True, NO_WORDS) is None
        assert review("【进制数据】双十一全场五折，回TD退订。", True, NO_WORDS) is None

    def test_opt_out_is_judged_without_the_signature(self) -> None:
        assert review("双十一全场五折，回TD退订【进制数据】", True, NO_WORDS) is None

    def test_sensitive_word_names_the_word(self) -> None:
        reason = review("您的验证码是@，ＶＰＮ加速", False, SensitiveWordFilter(["vpn"]))
        assert reason is not None
        assert "vpn" in reason

    @pytest.mark.parametrize(
        "content", ["双十一全场五折", "回TD退订，双十一全场五折", "双十一全场五折，回T退订"]
    )
    def test_marketing_without_opt_out_is_rejected(self, content: str) -> None:
        reason = review(content, True, NO_WORDS)
        assert reason is not None
        assert OPT_OUT_TEXTS[0] in reason

    def test_opt_out_text_not_required_outside_marketing(self) -> None:
        assert review("您的订单@已发货", False, NO_WORDS) is None

    def test_length_limit(self) -> None:
        assert review("通" * 500, False, NO_WORDS) is None
        reason = review("通" * 501, False, NO_WORDS)
        assert reason is not None
        assert "500" in reason

    @pytest.mark.parametrize("content", ["您的验证码是123456", "您的验证码是@，订单@"])
    def test_verification_needs_exactly_one_variable(self, content: str) -> None:
        reason = review(content, False, NO_WORDS)
        assert reason is not None
        assert "@" in reason

    def test_notification_may_have_any_number_of_variables(self) -> None:
        assert review("尊敬的@，您的订单@已于@发货", False, NO_WORDS) is None


SPEC_ROWS = [
    TemplateRow(1, "用户您好。【进制数据】", APPROVED),
    TemplateRow(2, "您的验证码是@，5分钟内有效", APPROVED),
]


class TestMatcher:
    def test_spec_examples(self) -> None:
        matcher = TemplateMatcher(SPEC_ROWS)
        assert matcher.match("用户您好。") == TemplateMatch(1, APPROVED)
        assert matcher.match("您的验证码是123456，5分钟内有效") == TemplateMatch(2, APPROVED)

    def test_variable_is_one_to_twenty_characters(self) -> None:
        matcher = TemplateMatcher(SPEC_ROWS)
        assert matcher.match("您的验证码是1，5分钟内有效") is not None
        assert matcher.match("您的验证码是" + "1" * 20 + "，5分钟内有效") is not None
        assert matcher.match("您的验证码是" + "1" * 21 + "，5分钟内有效") is None
        assert matcher.match("您的验证码是，5分钟内有效") is None

    @pytest.mark.parametrize("brk", ["\n", "\r", "\u2028"])
    def test_variable_never_spans_a_line_break(self, brk: str) -> None:
        assert TemplateMatcher(SPEC_ROWS).match(f"您的验证码是12{brk}34，5分钟内有效") is None

    def test_literal_text_must_match_whole(self) -> None:
        matcher = TemplateMatcher(SPEC_ROWS)
        assert matcher.match("用户您好") is None
        assert matcher.match("用户您好。。") is None
        assert matcher.match("您的验证码是123456，5分钟内有效！") is None
        assert matcher.match("x您的验证码是123456，5分钟内有效") is None

    def test_template_with_head_signature_matches_plain_text(self) -> None:
        matcher = TemplateMatcher([TemplateRow(5, "【进制数据】尊敬的@，您好", APPROVED)])
        assert matcher.match("尊敬的张三，您好") == TemplateMatch(5, APPROVED)

    def test_regex_metacharacters_are_literal(self) -> None:
        matcher = TemplateMatcher(
            [TemplateRow(7, "金额(元): @.00 [确认]*?", APPROVED), TemplateRow(8, "a.c", APPROVED)]
        )
        assert matcher.match("金额(元): 12.00 [确认]*?") == TemplateMatch(7, APPROVED)
        assert matcher.match("金额元: 12.00 确认") is None
        assert matcher.match("abc") is None
        assert matcher.match("a.c") == TemplateMatch(8, APPROVED)

    @pytest.mark.parametrize("with_variable", [True, False])
    def test_approved_beats_pending_beats_rejected(self, with_variable: bool) -> None:
        text = "您的订单@已发货" if with_variable else "您的订单已发货"
        sent = "您的订单A1已发货" if with_variable else "您的订单已发货"
        rows = [TemplateRow(1, text, REJECTED), TemplateRow(2, text, PENDING), TemplateRow(3, text, APPROVED)]
        assert TemplateMatcher(rows).match(sent) == TemplateMatch(3, APPROVED)
        assert TemplateMatcher(rows[:2]).match(sent) == TemplateMatch(2, PENDING)
        assert TemplateMatcher(rows[:1]).match(sent) == TemplateMatch(1, REJECTED)

    def test_rank_decides_between_literal_and_variable_templates(self) -> None:
        rows = [TemplateRow(1, "您的订单已发货", PENDING), TemplateRow(2, "您的订单@发货", APPROVED)]
        assert TemplateMatcher(rows).match("您的订单已发货") == TemplateMatch(2, APPROVED)
        rows = [TemplateRow(1, "您的订单已发货", APPROVED), TemplateRow(2, "您的订单@发货", APPROVED)]
        assert TemplateMatcher(rows).match("您的订单已发货") == TemplateMatch(1, APPROVED)

    def test_falls_through_to_a_later_template_when_an_earlier_one_only_matches_a_prefix(self) -> None:
        rows = [TemplateRow(1, "您好@", APPROVED), TemplateRow(2, "您好@，再见", PENDING)]
        assert TemplateMatcher(rows).match("您好张三，再见") == TemplateMatch(1, APPROVED)
        assert TemplateMatcher(rows).match("您好" + "x" * 18 + "，再见") == TemplateMatch(2, PENDING)

    def test_empty_matcher(self) -> None:
        assert TemplateMatcher([]).match("用户您好。") is None

    def test_unknown_status_is_ignored(self) -> None:
        assert TemplateMatcher([TemplateRow(1, "用户您好。", 9)]).match("用户您好。") is None

    def test_built_from_many_templates(self) -> None:
        rows = [TemplateRow(i, f"模板{i}号：@，谢谢", APPROVED) for i in range(500)]
        matcher = TemplateMatcher(rows)
        assert matcher.match("模板499号：你好，谢谢") == TemplateMatch(499, APPROVED)
        assert matcher.match("模板500号：你好，谢谢") is None


def _canonical_alone(char: str) -> bool:
    """A character that canonicalisation leaves alone, even beside any other such character: not
    invisible, NFKC-stable, and neither a combining mark nor a Hangul jamo (NFKC composes those with
    what comes before)."""
    return (
        canonical_text(char) == char
        and not unicodedata.category(char).startswith("M")
        and not 0x1100 <= ord(char) <= 0x11FF
    )


# Matching reads texts in canonical form: these hold the characters that form leaves as they are
# (what canonical form changes is covered by the properties further down).
LITERAL = st.text(
    st.characters(exclude_characters="@【】", exclude_categories=["Cs"]).filter(_canonical_alone), max_size=10
)
VALUE = st.text(
    st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]).filter(_canonical_alone),
    min_size=1,
    max_size=20,
)


@given(st.lists(LITERAL, min_size=2, max_size=5), st.data())
def test_any_filled_in_template_matches(parts: list[str], data: st.DataObject) -> None:
    template = "@".join(parts).strip()
    pieces = template.split("@")
    values = [data.draw(VALUE) for _ in pieces[1:]]
    sent = pieces[0] + "".join(value + piece for value, piece in zip(values, pieces[1:], strict=True))
    # Whitespace at the very ends of a sent text is trimmed, as the signature split does.
    assume(sent == sent.strip())
    matcher = TemplateMatcher([TemplateRow(1, template, APPROVED), TemplateRow(2, "其他@模板", APPROVED)])
    assert matcher.match(sent) == TemplateMatch(1, APPROVED)


# --- canonical form: invisible characters and compatibility forms ------------------------------


@given(st.sampled_from([row.content for row in SPEC_ROWS[1:]] + ["尊敬的@，您的订单@已发货"]), st.data())
def test_invisible_characters_never_change_which_template_a_text_fits(
    template: str, data: st.DataObject
) -> None:
    sent = template.replace("@", "1234")
    plain = TemplateMatcher([TemplateRow(1, template, APPROVED)])
    dressed = TemplateMatcher([TemplateRow(1, sprinkled(template, data, INVISIBLES), APPROVED)])
    assert plain.match(sprinkled(sent, data, INVISIBLES)) == TemplateMatch(1, APPROVED)
    assert dressed.match(sent) == TemplateMatch(1, APPROVED)
    assert dressed.match(sprinkled(sent, data, INVISIBLES)) == TemplateMatch(1, APPROVED)


def test_invisible_characters_do_not_count_in_a_variable() -> None:
    matcher = TemplateMatcher([TemplateRow(1, "您的验证码是@，5分钟内有效", APPROVED)])
    assert matcher.match("您的验证码是\u200b\u200b，5分钟内有效") is None  # nothing visible in it
    assert matcher.match("您的验证码是" + "1\u200b" * 20 + "，5分钟内有效") == TemplateMatch(1, APPROVED)
    assert matcher.match("您的验证码是" + "1\u200b" * 21 + "，5分钟内有效") is None


def test_full_width_and_half_width_are_one_template() -> None:
    matcher = TemplateMatcher([TemplateRow(1, "您的验证码是@,5分钟内有效(ABC)", APPROVED)])
    assert matcher.match("您的验证码是1234，5分钟内有效（ＡＢＣ）") == TemplateMatch(1, APPROVED)


def test_an_invisible_character_does_not_hide_a_verification_template() -> None:
    assert classify("您的验\u200b证码是@", ismarket=False) is TemplateKind.VERIFICATION
    assert review("您的验\u200b证码是@，@分钟内有效", False, NO_WORDS) == "验证码模板须有且仅有一个变量@"


def test_review_reads_the_opt_out_text_in_canonical_form() -> None:
    assert review("新品上市，全场@折优惠，回ＴＤ退订", True, NO_WORDS) is None
    assert review("新品上市，全场@折优惠，回T\u200bD退订", True, NO_WORDS) is None
