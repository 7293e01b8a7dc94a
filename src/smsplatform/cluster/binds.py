"""A connector's binds leased to dispatch processes across nodes, so that no more than `max_binds` of
its links are bound at once (carriers cap connections per account).

Each connector's leases are a sorted set in Redis: member the holding process, score when its lease
ends by Redis's clock. A process holding a lease renews it well within its length; one that died stops
renewing, and once its lease ended another process takes the bind at its next try. Each process wants
one bind of a connector (one link), so the shares are fair by construction: `max_binds` processes hold
one each, the others wait.

When `max_binds` is lowered, the holders beyond it lose their lease at their next renewal (one at a
time, as they come: the first to renew past the limit gives way), and unbind.
"""

from __future__ import annotations

from typing import Any

from smsplatform.cluster.shared import SharedState

# How long a lease lasts unless renewed, in seconds: a dead process's binds go to a live one within it.
LEASE_SECONDS = 10.0

# KEYS[1] the leases; ARGV holder, max binds, lease in milliseconds. Returns 1 when `holder` holds a
# lease now (taken or renewed), 0 when all are held by others or it had to give one up.
_HOLD = """
local holder = ARGV[1]
local most = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZSCORE', KEYS[1], holder)
local count = redis.call('ZCARD', KEYS[1])
if held then
  if count > most then
    redis.call('ZREM', KEYS[1], holder)
    return 0
  end
elseif count >= most then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, holder)
redis.call('PEXPIRE', KEYS[1], lease * 2)
return 1
"""


class BindLeases:
    """This process's leases on connectors' binds."""

    def __init__(self, shared: SharedState, holder: str, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self._shared = shared
        self.holder = holder
        self.lease_seconds = lease_seconds
        self._hold: Any = shared.script(_HOLD)

    async def hold(self, connector: str, max_binds: int) -> bool:
        """Take or renew this process's lease on one of `connector`'s binds; whether it holds one now.

        Raises SharedUnavailable when Redis cannot be reached (the caller keeps what it has)."""
        key = self._shared.key("binds", connector)
        args = [self.holder, str(max_binds), str(int(self.lease_seconds * 1000))]
        held = await self._shared.call(lambda _: self._hold(keys=[key], args=args))
        return bool(int(held))

    async def release(self, connector: str) -> None:
        """Give the lease back at once (the link unbound): another process need not wait for it to end.

        Raises SharedUnavailable when Redis cannot be reached (the lease then ends by itself)."""
        key = self._shared.key("binds", connector)
        await self._shared.call(lambda client: client.zrem(key, self.holder))

    async def holders(self, connector: str) -> list[str]:
        """The processes holding a lease on `connector`'s binds (ended ones included until next taken)."""
        key = self._shared.key("binds", connector)
        members = await self._shared.call(lambda client: client.zrange(key, 0, -1))
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]
