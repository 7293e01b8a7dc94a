"""A connector's submits-per-second as one budget for the whole platform: a token bucket in Redis.

Every node's link of a connector asks the bucket for a small batch of tokens (one script call per
batch, not per submit) and spends them locally (connectors/ratelimit.py), so over any second the
SMSC sees at most the connector's rate plus one batch. The bucket refills at the rate, measured by
Redis's clock (nodes' clocks may differ), and holds at most one batch: an idle connector does not
save up a burst.

While Redis cannot be reached, each link paces itself at `local_rate`: the connector's rate divided
by the dispatch processes running it now, which the connector manager reads from the database and
sets here (`share_among`).
"""

from __future__ import annotations

from typing import Any

from smsplatform.cluster.shared import SharedState, SharedUnavailable

# KEYS[1] the bucket; ARGV rate (tokens per second), capacity, tokens wanted.
# Returns {granted, seconds to wait before asking again when none were}; floats as strings, since
# Redis truncates Lua numbers in replies.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
end
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
local wait = 0
if granted == 0 then
  wait = (math.min(wanted, capacity) - tokens) / rate
end
return {granted, tostring(wait)}
"""

# A batch is this many seconds of the rate (at least one token): small enough that a batch is a small
# part of a second's cap, large enough that a link at 1,000/s asks 20 times a second, not 1,000.
BATCH_SECONDS = 0.05


def batch_for(rate: float) -> int:
    """The tokens a link asks for at a time under `rate`."""
    return max(1, int(rate * BATCH_SECONDS))


class SharedRate:
    """The budget of one connector (a `connectors.ratelimit.RateBudget`), shared through Redis."""

    def __init__(self, shared: SharedState, connector: str, rate: float, *, processes: int = 1) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._shared = shared
        self._key = shared.key("rate", connector)
        self._rate = rate
        self._script: Any = shared.script(_TAKE)
        self.batch = batch_for(rate)
        self.local_rate = rate / max(1, processes)

    def share_among(self, processes: int) -> None:
        """While Redis is away, pace at an equal share among `processes` running the connector."""
        self.local_rate = self._rate / max(1, processes)

    async def take(self, wanted: int) -> tuple[int, float] | None:
        """Up to `wanted` tokens, and the wait before asking again when none; None when Redis is away."""
        args = [repr(self._rate), str(self.batch), str(max(1, wanted))]
        try:
            granted, wait = await self._shared.call(lambda _: self._script(keys=[self._key], args=args))
        except SharedUnavailable:
            return None
        return int(granted), float(wait)
