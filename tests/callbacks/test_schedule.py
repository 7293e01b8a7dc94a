"""The retry schedule: growing delays, and giving up only after at least a day of retries."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.callbacks.schedule import DAY, RetrySchedule

CREATED = 1_700_000_000


def test_delays_grow_then_settle_at_hourly() -> None:
    schedule = RetrySchedule()
    delays = [(schedule.next_attempt_at(n, CREATED, CREATED) or 0) - CREATED for n in range(1, 12)]
    assert delays == [10, 30, 60, 120, 300, 600, 1800, 3600, 3600, 3600, 3600]


def test_a_failing_receiver_is_tried_for_at_least_a_day_then_given_up() -> None:
    schedule = RetrySchedule()
    now, attempts = CREATED, 1
    while (at := schedule.next_attempt_at(attempts, CREATED, now)) is not None:
        now, attempts = at, attempts + 1
    assert DAY <= now - CREATED < DAY + 3600
    assert attempts == 8 + 24  # the short delays add up to about an hour, then one attempt an hour


@given(
    attempts=st.integers(min_value=0, max_value=1000),
    age=st.integers(min_value=0, max_value=3 * DAY),
    delays=st.lists(st.integers(min_value=0, max_value=7200), min_size=1, max_size=10),
)
def test_never_gives_up_early_and_never_schedules_in_the_past(
    attempts: int, age: int, delays: list[int]
) -> None:
    schedule = RetrySchedule(delays=tuple(delays))
    at = schedule.next_attempt_at(attempts, CREATED, CREATED + age)
    if age < DAY:
        assert at is not None and at >= CREATED + age
        assert at - (CREATED + age) in delays
    else:
        assert at is None


@pytest.mark.parametrize("delays", [(), (10, -1)])
def test_refuses_schedules_that_make_no_sense(delays: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        RetrySchedule(delays=delays)
