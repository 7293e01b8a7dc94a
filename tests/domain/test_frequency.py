import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.frequency import (
    DEFAULT_LIMITS,
    Limit,
    SlidingWindowCounter,
    format_limits,
    limits_for,
    parse_limits,
)
from smsplatform.domain.templates import TemplateKind

VERIFICATION = DEFAULT_LIMITS[TemplateKind.VERIFICATION]


def test_defaults_follow_the_spec() -> None:
    assert DEFAULT_LIMITS[TemplateKind.VERIFICATION] == (Limit(60, 4), Limit(3600, 5), Limit(86400, 8))
    assert DEFAULT_LIMITS[TemplateKind.NOTIFICATION] == (Limit(86400, 50),)
    assert DEFAULT_LIMITS[TemplateKind.MARKETING] == (Limit(86400, 1),)


def test_override_replaces_the_default_of_its_kind_only() -> None:
    overrides = {"verification": [Limit(60, 1)]}
    assert limits_for(TemplateKind.VERIFICATION, overrides) == (Limit(60, 1),)
    assert limits_for(TemplateKind.MARKETING, overrides) == (Limit(86400, 1),)
    assert limits_for(TemplateKind.NOTIFICATION, None) == (Limit(86400, 50),)
    assert limits_for(TemplateKind.NOTIFICATION, {"notification": []}) == ()


def test_parse_and_format() -> None:
    assert parse_limits("4/60,5/3600,8/86400") == VERIFICATION
    assert parse_limits(" 4 / 1m , 5/1h,8/d ") == VERIFICATION
    assert parse_limits("") == ()
    assert format_limits(VERIFICATION) == "4/60,5/3600,8/86400"


@pytest.mark.parametrize("spec", ["4", "4/", "/60", "4/60,", "a/60", "4/60x", "4/0", "-1/60", "4/1w"])
def test_parse_rejects_nonsense(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_limits(spec)


@given(st.lists(st.builds(Limit, st.integers(1, 10**7), st.integers(0, 10**4)), max_size=5))
def test_format_round_trips(limits: list[Limit]) -> None:
    assert parse_limits(format_limits(limits)) == tuple(limits)


def test_verification_rule_of_the_seed() -> None:
    counter = SlidingWindowCounter()
    key = (1, "verification", "13800138000")
    # 4 in a minute, the 5th refused.
    assert [counter.try_acquire(key, VERIFICATION, t) for t in (0, 10, 20, 30, 40)] == [True] * 4 + [False]
    # The minute passes: the 5th of the hour is allowed, the 6th is not.
    assert counter.try_acquire(key, VERIFICATION, 60.5)
    assert not counter.try_acquire(key, VERIFICATION, 600)
    # The hour passes: 3 more reach the day's 8, then no more that day.
    assert all(counter.try_acquire(key, VERIFICATION, t) for t in (3661, 3662, 3663))
    assert not counter.try_acquire(key, VERIFICATION, 7300)
    assert not counter.try_acquire(key, VERIFICATION, 86399)
    assert counter.try_acquire(key, VERIFICATION, 86401)


def test_window_boundary_is_exclusive() -> None:
    counter = SlidingWindowCounter()
    assert counter.try_acquire("k", [Limit(60, 1)], 100.0)
    assert not counter.try_acquire("k", [Limit(60, 1)], 159.999)
    assert counter.try_acquire("k", [Limit(60, 1)], 160.0)


def test_keys_are_independent() -> None:
    counter = SlidingWindowCounter()
    marketing = DEFAULT_LIMITS[TemplateKind.MARKETING]
    assert counter.try_acquire("a", marketing, 0)
    assert counter.try_acquire("b", marketing, 0)
    assert not counter.try_acquire("a", marketing, 1)


def test_refused_attempts_are_not_counted() -> None:
    counter = SlidingWindowCounter()
    limits = [Limit(10, 2)]
    assert counter.try_acquire("k", limits, 0)
    assert counter.try_acquire("k", limits, 5)
    assert not counter.try_acquire("k", limits, 9)
    assert counter.try_acquire("k", limits, 10.5)


def test_release_undoes_the_last_hit() -> None:
    counter = SlidingWindowCounter()
    marketing = [Limit(86400, 1)]
    assert counter.try_acquire("k", marketing, 0)
    counter.release("k", 1)
    assert counter.try_acquire("k", marketing, 2)
    assert not counter.try_acquire("k", marketing, 3)
    counter.release("unknown", 4)


def test_release_of_a_full_history_is_exact() -> None:
    counter = SlidingWindowCounter()
    limits = [Limit(10, 2)]
    assert counter.try_acquire("k", limits, 0)
    assert counter.try_acquire("k", limits, 5)
    assert counter.try_acquire("k", limits, 10.5)  # pushes the hit at 0 out of the history
    counter.release("k", 10.5)
    assert counter.try_acquire("k", limits, 11)
    assert not counter.try_acquire("k", limits, 12)


def test_zero_blocks_everything_and_no_limits_allow_everything() -> None:
    counter = SlidingWindowCounter()
    assert not counter.try_acquire("k", [Limit(60, 0)], 0)
    assert all(counter.try_acquire("free", [], t) for t in range(100))


def test_changed_limits_apply_to_the_existing_history() -> None:
    counter = SlidingWindowCounter()
    assert counter.try_acquire("k", [Limit(60, 1)], 0)
    assert counter.try_acquire("k", [Limit(60, 3)], 1)
    assert counter.try_acquire("k", [Limit(60, 3)], 2)
    assert not counter.try_acquire("k", [Limit(60, 3)], 3)


def test_idle_keys_are_evicted() -> None:
    counter = SlidingWindowCounter()
    for i in range(1000):
        assert counter.try_acquire(("ip", i), [Limit(1, 10), Limit(60, 100)], i / 100)
        assert counter.try_acquire(("mobile", i), VERIFICATION, i / 100)
    assert len(counter) == 2000
    counter.try_acquire("late", [Limit(60, 1)], 100)
    assert len(counter) == 1001  # IP keys left their minute; the numbers stay for the day
    counter.try_acquire("later", [Limit(60, 1)], 86500)
    assert len(counter) == 1


@given(
    st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=60),
    st.lists(st.builds(Limit, st.integers(1, 30), st.integers(0, 6)), max_size=3),
)
def test_agrees_with_counting_all_hits(gaps: list[float], limits: list[Limit]) -> None:
    counter = SlidingWindowCounter()
    accepted: list[float] = []
    now = 0.0
    for gap in gaps:
        now += gap
        allowed = all(
            sum(1 for t in accepted if t > now - lim.window_seconds) < lim.max_count for lim in limits
        )
        assert counter.try_acquire("k", limits, now) == allowed
        if allowed:
            accepted.append(now)
