"""Outcome rules: what a test or demo relies on to steer receipts."""

from __future__ import annotations

from collections import Counter

import pytest

from smsplatform.simulator.rules import LastDigitRule, Outcome, PercentageRule, parse_outcomes


@pytest.mark.parametrize(
    ("destination", "stat", "err"),
    [
        ("13800138000", "DELIVRD", "000"),
        ("13800138006", "DELIVRD", "000"),
        ("13800138007", "UNDELIV", "005"),
        ("13800138008", "EXPIRED", "003"),
        ("13800138009", "REJECTD", "008"),
        ("", "DELIVRD", "000"),
    ],
)
def test_last_digit_default(destination: str, stat: str, err: str) -> None:
    assert LastDigitRule().outcome(destination) == Outcome(stat, err)


def test_last_digit_custom_mapping_and_delay() -> None:
    rule = LastDigitRule({"1": "DELETED"}, delay=1.5)
    assert rule.outcome("1381").stat == "DELETED"
    assert rule.outcome("1389").stat == "DELIVRD"  # digits not mapped deliver
    assert rule.delay == 1.5


def test_percentage_rule_is_repeatable_and_weighted() -> None:
    rule_a = PercentageRule({"DELIVRD": 80, "UNDELIV": 20}, seed=4)
    rule_b = PercentageRule({"DELIVRD": 80, "UNDELIV": 20}, seed=4)
    sequence_a = [rule_a.outcome("x").stat for _ in range(2000)]
    assert sequence_a == [rule_b.outcome("x").stat for _ in range(2000)]
    share = Counter(sequence_a)["UNDELIV"] / 2000
    assert 0.15 < share < 0.25
    assert {PercentageRule({"EXPIRED": 1}).outcome("x").stat for _ in range(20)} == {"EXPIRED"}


@pytest.mark.parametrize("weights", [{}, {"DELIVRD": -1}, {"DELIVRD": 0}, {"NOPE": 1}])
def test_percentage_rule_rejects_bad_weights(weights: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PercentageRule(weights)


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        LastDigitRule(delay=-1)


def test_outcomes_from_the_command_line() -> None:
    default = parse_outcomes("last-digit", delay=0.3)
    assert isinstance(default, LastDigitRule) and default.delay == 0.3
    assert [default.outcome(f"1380013800{d}").stat for d in "0789"] == [
        "DELIVRD",
        "UNDELIV",
        "EXPIRED",
        "REJECTD",
    ]
    changed = parse_outcomes("last-digit:0-4=expired, 56789=REJECTD")
    assert [changed.outcome(f"1380013800{d}").stat for d in "0459"] == [
        "EXPIRED",
        "EXPIRED",
        "REJECTD",
        "REJECTD",
    ]
    partly = parse_outcomes("last-digit:7=DELIVRD")
    assert [partly.outcome(f"1380013800{d}").stat for d in "789"] == ["DELIVRD", "EXPIRED", "REJECTD"]
    weighted = parse_outcomes("UNDELIV=1")
    assert isinstance(weighted, PercentageRule) and weighted.outcome("x").stat == "UNDELIV"


@pytest.mark.parametrize(
    "text",
    ["last-digit:0-4", "last-digit:4-0=DELIVRD", "last-digit:x=DELIVRD", "last-digit:1=NOPE", "DELIVRD"],
)
def test_outcomes_that_name_no_rule_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_outcomes(text)
