"""The limits every API node shares through Redis, as strict as one process: per caller address, per
customer a day, per number (the frequency limits) and the `requestid` keys.

Each decision is one Lua script, run atomically by Redis, one round trip per call:

- **Per caller address** (`send`, code 106): a sorted set of the address's hit times; a hit is counted
  when fewer than N hits lie in the last W seconds for each limit, as `SlidingWindowCounter` does in
  one process.
- **Per customer a day** (code 104): one counter per customer and local day (the day
  `store.rollups.period_start` starts), counted up only while under the limit.
- **Per number**: before the acceptance's transaction, `SharedFrequency.reserve` counts every number's
  send in its sorted set (per sub-account, kind and number, as `NumberKey`) when its limits allow it,
  for the whole request at once, and claims the request's `requestid`. The transaction takes those
  decisions instead of counting stored messages; afterwards `release` takes back, in one call, the
  reservations of the numbers that were not accepted and the claim. A send accepted is counted once (by
  its reservation); one refused is not counted once released.

The times are the nodes' clocks (unix seconds): nodes are expected to keep them synchronised (NTP), as
the stored messages' times already require.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from smsplatform.cluster.shared import SharedState, SharedUnavailable
from smsplatform.domain.frequency import Limit
from smsplatform.store.rollups import DAY, period_start

log = logging.getLogger(__name__)

# A day's counter outlives its day by one (a call at midnight may still be counted against it).
DAILY_TTL = 2 * DAY
# How long a `requestid` stays claimed by the node accepting it: far longer than an acceptance takes;
# a node that dies holding a claim blocks its key no longer than this.
CLAIM_MS = 10_000

# KEYS[1]: the address's hits. ARGV: now, a member unique to this hit, then (window, count) pairs.
_CALLER = """
local now = tonumber(ARGV[1])
local horizon = 0
for i = 3, #ARGV, 2 do
  local window, count = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if count == 0 or redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf') >= count then
    return 0
  end
  if window > horizon then horizon = window end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - horizon)
if redis.call('TTL', KEYS[1]) < horizon then redis.call('EXPIRE', KEYS[1], horizon + 1) end
return 1
"""

# KEYS[1]: the customer's count for the day. ARGV: the limit, the counter's time to live.
_DAILY = """
local limit = tonumber(ARGV[1])
if limit <= 0 or tonumber(redis.call('GET', KEYS[1]) or '0') >= limit then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

# KEYS: the claim of the request id when ARGV[3] is '1', then one key per limited message.
# ARGV: now, the reservation's token, claim?, the claim's milliseconds, the number of kinds, then per
# kind its number of limits and (window, count) pairs, then per limited message its kind's index.
# Answers {claimed, then 1 or 0 per limited message}: with claimed 0 (another node holds the request
# id), nothing is counted.
_RESERVE = """
local now = tonumber(ARGV[1])
local token = ARGV[2]
local first = 1
if ARGV[3] == '1' then
  if not redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[4]) then return {0} end
  first = 2
end
local at = 6
local kinds = {}
for k = 1, tonumber(ARGV[5]) do
  local n = tonumber(ARGV[at])
  at = at + 1
  local limits, horizon = {}, 0
  for j = 1, n do
    local window, count = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
    at = at + 2
    limits[j] = {window, count}
    if window > horizon then horizon = window end
  end
  kinds[k] = {limits, horizon}
end
local answers = {1}
for i = first, #KEYS do
  local key = KEYS[i]
  local kind = kinds[tonumber(ARGV[at])]
  at = at + 1
  local within = 1
  for _, limit in ipairs(kind[1]) do
    if limit[2] == 0 or redis.call('ZCOUNT', key, '(' .. (now - limit[1]), '+inf') >= limit[2] then
      within = 0
      break
    end
  end
  if within == 1 then
    redis.call('ZADD', key, now, token .. ':' .. (i - first))
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - kind[2])
    if redis.call('TTL', key) < kind[2] then redis.call('EXPIRE', key, kind[2] + 1) end
  end
  answers[#answers + 1] = within
end
return answers
"""

# KEYS: the claim when ARGV[2] is '1', then the keys of the reservations to take back.
# ARGV: the token, claim?, then per key the index its reservation was made under.
_RELEASE = """
local first = 1
if ARGV[2] == '1' then
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
  first = 2
end
for i = first, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1] .. ':' .. ARGV[i - first + 3])
end
return 1
"""


def _pairs(limits: Sequence[Limit]) -> list[int]:
    return [value for limit in limits for value in (limit.window_seconds, limit.max_count)]


class _Tokens:
    """Members unique across nodes and restarts: a random prefix per process, then a counter."""

    def __init__(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._count = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._count)}"


class SharedRequestLimits:
    """`RequestLimits` on Redis: raises `SharedUnavailable` when Redis cannot decide (the guard then
    answers `send` busy and lets every other endpoint fall back to the store's daily count)."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared
        self._caller = shared.script(_CALLER)
        self._daily = shared.script(_DAILY)
        self._token = _Tokens()

    async def allow_caller(self, address: str, limits: Sequence[Limit], now: float) -> bool:
        if any(limit.max_count == 0 for limit in limits):
            return False
        keys = [self._shared.key("ip", address)]
        args = [now, self._token(), *_pairs(limits)]
        allowed = await self._shared.call(lambda client: self._caller(keys, args, client=client))
        return bool(allowed)

    async def allow_request(self, customer_id: int, per_day: int, now: float) -> bool:
        if per_day <= 0:
            return False
        keys = [self._shared.key("daily", customer_id, period_start(DAY, int(now)))]
        allowed = await self._shared.call(
            lambda client: self._daily(keys, [per_day, DAILY_TTL], client=client)
        )
        return bool(allowed)

    async def close(self) -> None:
        """Nothing is kept here: every count is in Redis already."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """What `SharedFrequency.reserve` counted for one request: `within[i]` says whether message i
    (in the order given) is within its limits, and is counted until released."""

    token: str
    within: list[bool]
    claim: str | None
    # Per counted message: its index, the slot its count is kept under and its key.
    counted: list[tuple[int, int, str]]


class SharedFrequency:
    """The frequency limits per number and the `requestid` claims, decided in Redis before the
    acceptance's transaction (see the module docstring)."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared
        self._reserve = shared.script(_RESERVE)
        self._release = shared.script(_RELEASE)
        self._token = _Tokens()

    def claim_key(self, customer_id: int, request_id: str) -> str:
        return self._shared.key("requestid", customer_id, request_id)

    async def reserve(
        self,
        account_id: int,
        numbers: Sequence[tuple[str, str]],
        limits: Mapping[str, Sequence[Limit]],
        now: int,
        claim: str | None = None,
    ) -> Reservation | None:
        """Counts each (kind, mobile) of `numbers` whose limits allow one more send at `now`, and
        claims `claim` (a `claim_key`) for the acceptance; None, counting nothing, when another node
        holds that claim. Raises `SharedUnavailable` when Redis cannot decide."""
        token = self._token()
        kinds = list(limits)
        index = {kind: i for i, kind in enumerate(kinds, 1)}
        keys: list[str] = [claim] if claim is not None else []
        args: list[object] = [now, token, "1" if claim is not None else "0", CLAIM_MS, len(kinds)]
        for kind in kinds:
            args.append(len(limits[kind]))
            args.extend(_pairs(limits[kind]))
        limited: list[int] = []
        for i, (kind, mobile) in enumerate(numbers):
            if kind in index:
                limited.append(i)
                keys.append(self._shared.key("freq", account_id, kind, mobile))
                args.append(index[kind])
        answers = await self._shared.call(lambda client: self._reserve(keys, args, client=client))
        if not answers[0]:
            return None
        first = 1 if claim is not None else 0
        within = [True] * len(numbers)
        counted: list[tuple[int, int, str]] = []
        for slot, (i, answer) in enumerate(zip(limited, answers[1:], strict=True)):
            if answer:
                counted.append((i, slot, keys[first + slot]))
            else:
                within[i] = False
        return Reservation(token, within, claim, counted)

    async def release(self, reservation: Reservation, kept: Collection[int] = ()) -> None:
        """Takes back the reservation's counts but those of the messages at `kept` (indexes into the
        numbers reserved: the accepted ones), and its claim. Best effort: counts Redis keeps by
        mistake only make the limits stricter until their windows pass, and a claim lapses by itself."""
        args: list[object] = [reservation.token, "1" if reservation.claim is not None else "0"]
        keys: list[str] = [reservation.claim] if reservation.claim is not None else []
        kept = set(kept)
        for i, slot, key in reservation.counted:
            if i not in kept:
                keys.append(key)
                args.append(slot)
        if not keys:
            return
        try:
            await self._shared.call(lambda client: self._release(keys, args, client=client))
        except SharedUnavailable:
            log.warning("could not take back %d frequency reservations: redis is unreachable", len(keys))
