"""Outcome rules: what a test or demo relies on to steer receipts."""

from __future__ import annotations

from collections import Counter

import pytest

from smsplatform.simulator.rules import LastDigitRule, Outcome, PercentageRule


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
