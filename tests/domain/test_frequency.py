import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.domain.frequency import (
    DEFAULT_LIMITS,
    BucketCounter,
    Limit,
    SlidingWindowCounter,
    format_limits,
    limits_for,
    parse_limits,
    within_limits,
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


# --- judging stored send times --------------------------------------------------------------------


def test_within_limits_judges_the_earlier_sends() -> None:
    assert within_limits([], VERIFICATION, 0)
    assert within_limits([0, 10, 20], VERIFICATION, 30)
    assert not within_limits([0, 10, 20, 30], VERIFICATION, 40)
    assert within_limits([0, 10, 20, 30], VERIFICATION, 60)  # the window is (now - 60, now]
    assert not within_limits([0, 10, 20, 30, 60], VERIFICATION, 600)
    assert not within_limits([], [Limit(60, 0)], 0)
    assert within_limits([1, 2, 3], [], 3)


@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=60),
    st.lists(st.builds(Limit, st.integers(1, 30), st.integers(0, 6)), max_size=3),
)
def test_within_limits_agrees_with_the_in_memory_counter(gaps: list[int], limits: list[Limit]) -> None:
    counter = SlidingWindowCounter()
    accepted: list[int] = []
    now = 0
    for gap in gaps:
        now += gap
        allowed = within_limits(accepted, limits, now)
        assert counter.try_acquire("k", limits, now) == allowed
        if allowed:
            accepted.append(now)


# --- one-second buckets ---------------------------------------------------------------------------

PER_MINUTE = [Limit(60, 3)]


def test_buckets_count_a_minute_and_forget_within_a_second_after() -> None:
    counter = BucketCounter()
    for t in (100.2, 100.7, 130.0):
        assert counter.allows("ip", PER_MINUTE, t)
        counter.hit("ip", PER_MINUTE, t)
    assert not counter.allows("ip", PER_MINUTE, 159.9)
    assert not counter.allows("ip", PER_MINUTE, 160.5)  # second 100 is still partly in the window
    assert counter.allows("ip", PER_MINUTE, 161.0)
    assert counter.allows("other", PER_MINUTE, 130.0)
    assert not counter.allows("ip", [Limit(60, 0)], 0)


def test_buckets_hand_over_what_to_store_and_take_back_what_was_stored() -> None:
    counter = BucketCounter()
    for t in (100.1, 100.9, 101.5):
        counter.hit("ip", PER_MINUTE, t)
    assert counter.pending == 2
    drained = counter.drain()
    assert sorted(drained) == [("ip", 100, 2), ("ip", 101, 1)]
    assert (counter.pending, counter.drain()) == (0, [])
    counter.restore_pending(drained)  # the write failed: written next time
    assert sorted(counter.drain()) == sorted(drained)
    # A new process reads them back: counted, not pending.
    restarted = BucketCounter()
    for key, second, count in drained:
        restarted.add(key, second, count, 60)
    assert not restarted.allows("ip", PER_MINUTE, 102)
    assert restarted.pending == 0


def test_idle_callers_are_evicted() -> None:
    counter = BucketCounter(sweep_interval=1)
    for i in range(1000):
        counter.hit(("ip", i), PER_MINUTE, i / 100)
    assert len(counter) == 1000
    counter.hit("late", PER_MINUTE, 65)
    assert len(counter) == 1 + sum(1 for i in range(1000) if int(i / 100) >= 5)
    counter.hit("later", PER_MINUTE, 200)
    assert len(counter) == 1


@given(
    st.lists(st.floats(0, 3, allow_nan=False), min_size=1, max_size=80),
    st.lists(st.builds(Limit, st.integers(60, 120), st.integers(0, 8)), min_size=1, max_size=2),
)
def test_buckets_never_forget_early_nor_late(gaps: list[float], limits: list[Limit]) -> None:
    counter = BucketCounter()
    accepted: list[float] = []
    now = 1000.0
    for gap in gaps:
        now += gap
        # Exact in seconds: a hit counts while its whole second has not left the window.
        allowed = all(
            sum(1 for t in accepted if int(t) >= int(now) - lim.window_seconds) < lim.max_count
            for lim in limits
        )
        assert counter.allows("k", limits, now) == allowed
        # Never early: whatever an exact sliding window refuses, the buckets refuse too.
        assert within_limits(accepted, limits, now) or not allowed
        if allowed:
            counter.hit("k", limits, now)
            accepted.append(now)
