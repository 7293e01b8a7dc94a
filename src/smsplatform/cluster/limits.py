"""The limits every API node shares through Redis, as strict as one process: per caller address, per
customer a day, per number (the frequency limits) and the `requestid` keys.

Each decision is made by a Lua script, run atomically by Redis, in one round trip per call:

- **Per caller address** (`send`, code 106): a sorted set of the address's hit times; a hit is counted
  when fewer than N hits lie in the last W seconds for each limit, as `SlidingWindowCounter` does in
  one process.
- **Per customer a day** (code 104): one counter per customer and local day (the day
  `store.rollups.period_start` starts), counted up only while under the limit.
- **Per number**: before the acceptance's transaction, `SharedFrequency.reserve` counts every number's
  send in its sorted set (per sub-account, kind and number, as `NumberKey`) when its limits allow it,
  and claims the request's `requestid`: one script call for up to `CHUNK` numbers, a larger request's
  calls pipelined in one round trip (each number is judged atomically; nothing needs the whole request
  to be). The transaction takes those decisions instead of counting stored messages; afterwards
  `release` takes back, in one call, the reservations of the numbers that were not accepted and the
  claim. A send accepted is counted once (by its reservation); one refused is not counted once released.

The times are the nodes' clocks (unix seconds): nodes are expected to keep them synchronised (NTP), as
the stored messages' times already require.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from smsplatform.cluster.shared import SharedState, SharedUnavailable
from smsplatform.domain.frequency import Limit
from smsplatform.store.rollups import DAY, period_start

log = logging.getLogger(__name__)

# A day's counter outlives its day by one (a call at midnight may still be counted against it).
DAILY_TTL = 2 * DAY
# How long a `requestid` stays claimed by the node accepting it: far longer than an acceptance takes;
# a node that dies holding a claim blocks its key no longer than this.
CLAIM_MS = 10_000
# Numbers per script call: a request's 5,000 go as a pipeline of calls, one round trip, each call
# short enough not to hold up the other nodes' calls (Redis runs one script at a time) or to time out.
CHUNK = 500

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

# KEYS[1]: the request id's claim. ARGV: now, the reservation's token, what to do with the claim ('0':
# no request id; '1': claim it; '2': go on only while this reservation holds it), the claim's
# milliseconds, the number of messages counted by the earlier calls of the request (their slots come
# first), the numbers' key prefix, the number of kinds, per kind its name, its number of limits
# and their (window, count) pairs; then per limited message its kind's index (one digit each, in one
# string) and the numbers (comma-separated, in one string): one argument for many numbers, where an
# argument each would cost more to encode than the script takes to run. The numbers' keys are made
# here (prefix, kind, number), so the script needs one Redis, not a Redis Cluster.
# Answers whether the claim holds (1 or 0), then 1 or 0 per message, as one string: with 0 first,
# nothing is counted.
_RESERVE = """
local now = tonumber(ARGV[1])
local token = ARGV[2]
if ARGV[3] == '1' and not redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[4]) then
  return '0'
end
if ARGV[3] == '2' and redis.call('GET', KEYS[1]) ~= token then
  return '0'
end
local offset = tonumber(ARGV[5])
local prefix = ARGV[6]
local at = 8
local kinds = {}
for k = 1, tonumber(ARGV[7]) do
  local name, n = ARGV[at], tonumber(ARGV[at + 1])
  at = at + 2
  local limits, horizon = {}, 0
  for j = 1, n do
    local window, count = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
    at = at + 2
    limits[j] = {window, count}
    if window > horizon then horizon = window end
  end
  kinds[k] = {prefix .. name .. ':', limits, horizon}
end
local of_kind = ARGV[at]
local answers = {'1'}
local slot = 0
for mobile in string.gmatch(ARGV[at + 1], '[^,]+') do
  slot = slot + 1
  local kind = kinds[string.byte(of_kind, slot) - 48]
  local key = kind[1] .. mobile
  local within = '1'
  for _, limit in ipairs(kind[2]) do
    if limit[2] == 0 or redis.call('ZCOUNT', key, '(' .. (now - limit[1]), '+inf') >= limit[2] then
      within = '0'
      break
    end
  end
  if within == '1' then
    redis.call('ZADD', key, now, token .. ':' .. (offset + slot))
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - kind[3])
    redis.call('EXPIRE', key, kind[3] + 1)
  end
  answers[slot + 1] = within
end
return table.concat(answers)
"""

# KEYS[1]: the claim, when ARGV[2] is '1'. ARGV: the token, claim?, the numbers' key prefix, then the
# reservations to take back as one string of `slot:kind:number` entries separated by commas.
_RELEASE = """
if ARGV[2] == '1' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
for slot, kind, mobile in string.gmatch(ARGV[4] or '', '(%d+):([^:,]+):([^,]+)') do
  redis.call('ZREM', ARGV[3] .. kind .. ':' .. mobile, ARGV[1] .. ':' .. slot)
end
return 1
"""


def _text(reply: object) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


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
    prefix: str  # of the numbers' keys: the sub-account's
    # Per counted message: its index, and its count's `slot:kind:number` as the release script reads it.
    counted: list[tuple[int, str]]


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
        holds that claim. Numbers are normal forms (no commas). Raises `SharedUnavailable` when Redis
        cannot decide."""
        token = self._token()
        index = {kind: str(i) for i, kind in enumerate(limits, 1)}
        if len(index) > 9:
            raise ValueError("at most 9 kinds of limits")
        prefix = self._shared.key("freq", account_id, "")
        head: list[object] = [now, token, "0", CLAIM_MS, 0, prefix, len(index)]
        for kind, kind_limits in limits.items():
            head += [kind, len(kind_limits), *_pairs(kind_limits)]
        limited = [i for i, (kind, _) in enumerate(numbers) if kind in index]
        keys = [claim] if claim is not None else []
        calls: list[list[object]] = []
        # At least one call, with no number to judge: the claim, and whether Redis answers (a node
        # that cannot reach it accepts no send).
        for start in range(0, max(len(limited), 1), CHUNK):
            chunk = limited[start : start + CHUNK]
            args = list(head)
            if claim is not None:
                args[2] = "1" if start == 0 else "2"
            args[4] = start
            args.append("".join(index[numbers[i][0]] for i in chunk))
            args.append(",".join(numbers[i][1] for i in chunk))
            calls.append(args)

        async def run(client: Redis) -> list[Any]:
            if len(calls) == 1:
                return [await self._reserve(keys, calls[0], client=client)]
            async with client.pipeline(transaction=False) as pipe:
                for args in calls:
                    await self._reserve(keys, args, client=pipe)
                return list(await pipe.execute())

        replies = await self._shared.call(run)
        answers = "".join(_text(reply)[1:] for reply in replies)
        if any(_text(reply)[:1] != "1" for reply in replies):
            # The claim is another node's (then the first chunk counted nothing, nor did the others).
            return None
        within = [True] * len(numbers)
        counted: list[tuple[int, str]] = []
        for slot, (i, decided) in enumerate(zip(limited, answers, strict=True), 1):
            if decided == "1":
                kind, mobile = numbers[i]
                counted.append((i, f"{slot}:{kind}:{mobile}"))
            else:
                within[i] = False
        return Reservation(token, within, claim, prefix, counted)

    async def release(self, reservation: Reservation, kept: Collection[int] = ()) -> None:
        """Takes back the reservation's counts but those of the messages at `kept` (indexes into the
        numbers reserved: the accepted ones), and its claim. Best effort: counts Redis keeps by
        mistake only make the limits stricter until their windows pass, and a claim lapses by itself."""
        kept = set(kept)
        taken_back = ",".join(entry for i, entry in reservation.counted if i not in kept)
        if not taken_back and reservation.claim is None:
            return
        keys = [reservation.claim] if reservation.claim is not None else []
        claimed = "1" if reservation.claim is not None else "0"
        args = [reservation.token, claimed, reservation.prefix, taken_back]
        try:
            await self._shared.call(lambda client: self._release(keys, args, client=client))
        except SharedUnavailable:
            log.warning("could not take back frequency reservations: redis is unreachable")
