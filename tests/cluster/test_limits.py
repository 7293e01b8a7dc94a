"""The shared limits' scripts at their edges, on a real Redis: window boundaries, a day's count,
reservations for a whole request, their release, and request-id claims."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from smsplatform.cluster import limits as limits_module
from smsplatform.cluster.limits import DAILY_TTL, SharedFrequency, SharedRequestLimits
from smsplatform.cluster.shared import SharedState, SharedUnavailable
from smsplatform.domain.frequency import Limit
from smsplatform.store.rollups import DAY, period_start
from tests.redis_server import OwnRedis, own_redis  # noqa: F401

NOW = 1_765_000_000
VERIFY = "verification"
VERIFICATION_LIMITS = {VERIFY: (Limit(60, 4), Limit(3600, 5), Limit(86400, 8))}


@pytest.fixture
async def shared(redis_url: str) -> AsyncIterator[SharedState]:
    state = SharedState(redis_url, prefix=f"test:{uuid.uuid4().hex}:", node="n1")
    yield state
    keys = await state.client.keys(state.prefix + "*")
    if keys:
        await state.client.delete(*keys)
    await state.close()


async def test_a_caller_window_counts_hits_inside_it_and_forgets_them_at_its_end(
    shared: SharedState,
) -> None:
    limits = SharedRequestLimits(shared)
    per_second = [Limit(1, 3)]
    assert [await limits.allow_caller("10.0.0.1", per_second, NOW + 0.1) for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    # Still inside: the window is (now - 1, now].
    assert not await limits.allow_caller("10.0.0.1", per_second, NOW + 1.0)
    # 1 s after the hits, they have left it.
    assert await limits.allow_caller("10.0.0.1", per_second, NOW + 1.1)
    # Another address has its own count.
    assert await limits.allow_caller("10.0.0.2", per_second, NOW + 1.1)


async def test_a_refused_caller_is_not_counted(shared: SharedState) -> None:
    limits = SharedRequestLimits(shared)
    both = [Limit(1, 2), Limit(60, 3)]
    assert await limits.allow_caller("a", both, NOW)
    assert await limits.allow_caller("a", both, NOW)
    for _ in range(5):
        assert not await limits.allow_caller("a", both, NOW + 0.5)  # per second
    # Refusals counted nothing: one more fits the minute, then it is full.
    assert await limits.allow_caller("a", both, NOW + 2)
    assert not await limits.allow_caller("a", both, NOW + 3)
    assert await limits.allow_caller("a", both, NOW + 60.5)
    assert not await limits.allow_caller("b", [Limit(60, 0)], NOW)


async def test_a_days_count_stops_at_its_limit_and_starts_again_the_next_local_day(
    shared: SharedState,
) -> None:
    limits = SharedRequestLimits(shared)
    answers = await asyncio.gather(*(limits.allow_request(7, 10, NOW) for _ in range(30)))
    assert answers.count(True) == 10
    tomorrow = period_start(DAY, NOW) + DAY
    assert await limits.allow_request(7, 10, tomorrow)
    assert await limits.allow_request(8, 10, NOW)
    assert not await limits.allow_request(9, 0, NOW)
    ttl = await shared.client.ttl(shared.key("daily", 7, period_start(DAY, NOW)))
    assert 0 < ttl <= DAILY_TTL


async def test_a_reservation_judges_each_number_and_counts_the_ones_within(shared: SharedState) -> None:
    frequency = SharedFrequency(shared)
    numbers = [(VERIFY, "13800000001")] * 6 + [(VERIFY, "13800000002"), ("marketing", "13800000003")]
    reservation = await frequency.reserve(1, numbers, VERIFICATION_LIMITS, NOW)
    assert reservation is not None
    # 4 a minute for the repeated number; the other one and the unlimited kind are within.
    assert reservation.within == [True] * 4 + [False, False, True, True]
    again = await frequency.reserve(1, [(VERIFY, "13800000001")], VERIFICATION_LIMITS, NOW + 59)
    assert again is not None and again.within == [False]
    # The minute has passed at NOW + 60: the fifth of the hour fits, the sixth does not.
    later = await frequency.reserve(1, [(VERIFY, "13800000001")] * 2, VERIFICATION_LIMITS, NOW + 60)
    assert later is not None and later.within == [True, False]
    # Another sub-account counts on its own.
    other = await frequency.reserve(2, [(VERIFY, "13800000001")], VERIFICATION_LIMITS, NOW)
    assert other is not None and other.within == [True]


async def test_a_release_takes_back_only_the_numbers_not_kept(shared: SharedState) -> None:
    frequency = SharedFrequency(shared)
    limits = {VERIFY: (Limit(60, 1),)}
    numbers = [(VERIFY, "1"), (VERIFY, "2"), (VERIFY, "3")]
    reservation = await frequency.reserve(1, numbers, limits, NOW)
    assert reservation is not None and reservation.within == [True, True, True]
    await frequency.release(reservation, kept=[1])
    after = await frequency.reserve(1, numbers, limits, NOW + 1)
    assert after is not None and after.within == [True, False, True]
    # Released twice, or after the keys were trimmed, takes back nothing more.
    await frequency.release(after, kept=[])
    await frequency.release(after, kept=[])
    last = await frequency.reserve(1, numbers, limits, NOW + 2)
    assert last is not None and last.within == [True, False, True]


async def test_a_limit_of_zero_refuses_and_counts_nothing(shared: SharedState) -> None:
    frequency = SharedFrequency(shared)
    reservation = await frequency.reserve(1, [(VERIFY, "1")], {VERIFY: (Limit(60, 0),)}, NOW)
    assert reservation is not None and reservation.within == [False]
    assert await shared.client.exists(shared.key("freq", 1, VERIFY, "1")) == 0


async def test_concurrent_reservations_let_exactly_the_limit_through(shared: SharedState) -> None:
    nodes = [SharedFrequency(shared) for _ in range(3)]
    reservations = await asyncio.gather(
        *(nodes[i % 3].reserve(1, [(VERIFY, "1")], VERIFICATION_LIMITS, NOW) for i in range(50))
    )
    assert sum(r.within[0] for r in reservations if r is not None) == 4


async def test_a_claimed_request_id_counts_nothing_for_another_until_released(
    shared: SharedState,
) -> None:
    frequency = SharedFrequency(shared)
    claim = frequency.claim_key(1, "order-1")
    first = await frequency.reserve(1, [(VERIFY, "1")], VERIFICATION_LIMITS, NOW, claim)
    assert first is not None and first.within == [True]
    assert await frequency.reserve(1, [(VERIFY, "1")], VERIFICATION_LIMITS, NOW, claim) is None
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "1")) == 1
    await frequency.release(first, kept=[0])
    second = await frequency.reserve(1, [(VERIFY, "1")], VERIFICATION_LIMITS, NOW, claim)
    assert second is not None
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "1")) == 2


async def test_unreachable_redis_is_reported_at_once_and_release_does_not_raise(
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    shared = SharedState(own_redis.url, prefix="test:", node="n1")
    frequency = SharedFrequency(shared)
    reservation = await frequency.reserve(1, [(VERIFY, "1")], VERIFICATION_LIMITS, NOW)
    assert reservation is not None
    own_redis.stop()
    with pytest.raises(SharedUnavailable):
        await frequency.reserve(1, [(VERIFY, "2")], VERIFICATION_LIMITS, NOW)
    with pytest.raises(SharedUnavailable):
        await SharedRequestLimits(shared).allow_request(1, 10, NOW)
    await frequency.release(reservation)  # logged, not raised: the count lapses with its window
    await shared.close()


async def test_a_number_twice_in_a_request_is_counted_twice_and_released_one_by_one(
    shared: SharedState,
) -> None:
    frequency = SharedFrequency(shared)
    limits = {VERIFY: (Limit(60, 2),)}
    reservation = await frequency.reserve(1, [(VERIFY, "1"), (VERIFY, "1")], limits, NOW)
    assert reservation is not None and reservation.within == [True, True]
    await frequency.release(reservation, kept=[0])
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "1")) == 1
    after = await frequency.reserve(1, [(VERIFY, "1"), (VERIFY, "1")], limits, NOW + 1)
    assert after is not None and after.within == [True, False]


async def test_a_whole_marketing_batch_is_one_call(shared: SharedState) -> None:
    frequency = SharedFrequency(shared)
    numbers = [("marketing", f"139{n:08d}") for n in range(5000)]
    limits = {"marketing": (Limit(86400, 1),)}
    first = await frequency.reserve(1, numbers, limits, NOW)
    assert first is not None and all(first.within)
    again = await frequency.reserve(1, [*numbers[:10], ("marketing", "13700000000")], limits, NOW + 5)
    assert again is not None and again.within == [False] * 10 + [True]


async def test_a_request_over_several_calls_counts_as_one(
    shared: SharedState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits_module, "CHUNK", 2)
    frequency = SharedFrequency(shared)
    limits = {VERIFY: (Limit(60, 3),)}
    numbers = [(VERIFY, "1"), (VERIFY, "2"), (VERIFY, "1"), (VERIFY, "1"), (VERIFY, "1")]
    reservation = await frequency.reserve(1, numbers, limits, NOW, frequency.claim_key(1, "k"))
    assert reservation is not None
    # The same number in different calls is counted each time: the fourth is over 3 a minute.
    assert reservation.within == [True, True, True, True, False]
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "1")) == 3
    # While the claim is held, another reservation of the key counts in none of its calls.
    assert await frequency.reserve(1, numbers, limits, NOW, frequency.claim_key(1, "k")) is None
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "2")) == 1
    await frequency.release(reservation, kept=[0])
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "1")) == 1
    assert await shared.client.zcard(shared.key("freq", 1, VERIFY, "2")) == 0
    assert await shared.client.exists(frequency.claim_key(1, "k")) == 0
