"""One node's connection to the platform's Redis, and whether Redis answers.

Every key is under one prefix per platform (`smsplatform:<platform id>:`, the id kept in the database),
so that two platforms, or two test runs, sharing one Redis never count each other's traffic.

When a call fails to reach Redis, the connection is taken as down for `retry_after` seconds: calls in
that time raise `SharedUnavailable` at once instead of each waiting for a connect timeout, and the
first call after it tries again. Going down and coming back are logged once each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
import redis.exceptions

from smsplatform.store.database import Database
from smsplatform.store.settings import platform_id

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds to connect, and for a reply, before Redis counts as unreachable. Connecting is quick or
# refused; a reply may come late from a busy event loop or a 5,000-number script without Redis being
# gone, and taking Redis as down makes the whole node answer sends 'busy' for `RETRY_AFTER`.
CONNECT_TIMEOUT = 0.5
TIMEOUT = 2.0
RETRY_AFTER = 1.0

# What a Redis that cannot be reached raises (a refused or reset connection, a timeout, a server that is
# loading or shutting down): anything else is a bug of ours and propagates as it is.
UNREACHABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    OSError,
    TimeoutError,
)


class SharedUnavailable(Exception):
    """Redis cannot be reached now: what needs it cannot be decided (a send is answered 'busy')."""


class SharedState:
    """The platform's Redis as this node sees it: `call` runs a command or script, or raises
    `SharedUnavailable` when Redis does not answer (now, or within the last `retry_after` seconds)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        node: str,
        timeout: float = TIMEOUT,
        connect_timeout: float = CONNECT_TIMEOUT,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.node = node
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=connect_timeout,
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._retry_after = retry_after
        self._clock = clock
        self._down_until = 0.0
        self._down = False

    def key(self, *parts: object) -> str:
        """A key of this platform's: the prefix, then `parts` joined by colons."""
        return self.prefix + ":".join(str(part) for part in parts)

    def script(self, source: str) -> Any:
        """A Lua script run by its hash (loaded again by redis-py when Redis forgot it)."""
        return self.client.register_script(source)

    async def call(self, fn: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """`fn(client)`, or SharedUnavailable when Redis cannot be reached."""
        if self._down and self._clock() < self._down_until:
            raise SharedUnavailable("redis is unreachable")
        try:
            result = await fn(self.client)
        except UNREACHABLE as error:
            self._went_down(error)
            raise SharedUnavailable(f"redis is unreachable: {error}") from error
        if self._down:
            self._down = False
            log.warning("redis at %s answers again", _where(self.url))
        return result

    async def ping(self) -> bool:
        """Whether Redis answers now (health checks)."""
        try:
            await self.call(lambda client: client.ping())
        except SharedUnavailable:
            return False
        return True

    async def close(self) -> None:
        await self.client.aclose()

    def _went_down(self, error: BaseException) -> None:
        self._down_until = self._clock() + self._retry_after
        if not self._down:
            self._down = True
            log.warning(
                "redis at %s is unreachable (%s): retrying every %.0f s",
                _where(self.url),
                error,
                self._retry_after,
            )


def connect_shared(url: str, *, node: str, db: Database) -> SharedState | None:
    """This node's view of the platform's Redis at `url` (none when `url` is empty), with keys under
    the platform id the database keeps. Nothing is connected until the first call."""
    if not url:
        return None
    with db.engine.begin() as conn:
        platform = platform_id(conn)
    return SharedState(url, prefix=f"smsplatform:{platform}:", node=node)


def _where(url: str) -> str:
    """The URL without its password."""
    rest = url.split("://", 1)[-1]
    return rest.rsplit("@", 1)[-1]
