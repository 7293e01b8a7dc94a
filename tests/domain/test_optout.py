import pytest

from smsplatform.domain.optout import OPT_OUT_REPLIES, is_opt_out_reply


@pytest.mark.parametrize(
    "reply", ["TD", "td", "Td", " T ", "n", "退订", "R", "r", "ＴＤ", "\u3000ｔｄ\u3000", "TD\n"]
)
def test_opt_out_replies(reply: str) -> None:
    assert is_opt_out_reply(reply)


@pytest.mark.parametrize("reply", ["", "TD谢谢", "不退订", "T D", "TDD", "好的", "Y", "R1"])
def test_other_replies(reply: str) -> None:
    assert not is_opt_out_reply(reply)


def test_the_list_is_the_spec_list() -> None:
    assert {"TD", "T", "N", "退订", "R"} == OPT_OUT_REPLIES
