"""Fault switches: the semantics of their arguments."""

from __future__ import annotations

import pytest

from smsplatform.simulator.faults import Faults


def test_throttle_count_applies_to_the_next_n() -> None:
    faults = Faults()
    faults.throttle(2)
    assert [faults.should_throttle() for _ in range(4)] == [True, True, False, False]
    assert not faults.active


def test_throttle_ratio() -> None:
    faults = Faults(seed=1)
    faults.throttle(1.0)
    assert all(faults.should_throttle() for _ in range(50))
    faults.throttle(0.5)
    share = sum(faults.should_throttle() for _ in range(2000)) / 2000
    assert 0.4 < share < 0.6
    faults.throttle(0)
    assert not faults.active


@pytest.mark.parametrize("value", [True, -1, 1.5, -0.1])
def test_bad_throttle_values(value: float) -> None:
    with pytest.raises(ValueError):
        Faults().throttle(value)


def test_drop_and_slow_and_clear() -> None:
    faults = Faults()
    faults.drop_responses(1.0)
    faults.slow_responses(0.5)
    assert faults.should_drop() and faults.response_delay == 0.5 and faults.active
    faults.clear()
    assert not faults.active and not faults.should_drop()
    with pytest.raises(ValueError):
        faults.drop_responses(2)
    with pytest.raises(ValueError):
        faults.slow_responses(-1)
