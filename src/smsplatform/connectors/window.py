"""The sliding window: at most N requests unanswered on one session, with submitters waiting for slots."""

from __future__ import annotations

import asyncio
from collections import deque

from smsplatform.protocols.link.core import SlotWindow


class Window(SlotWindow):
    """The link core's slot count, plus a queue of submitters waiting for a slot: a freed slot goes
    straight to the oldest waiter (first come, first served).

    Unlike asyncio.Semaphore it can be closed, which wakes every waiter with False: a session that
    dies must not leave submitters waiting for slots that will never free up.
    """

    __slots__ = ("_idle", "_waiters")

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._idle: asyncio.Future[None] | None = None

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody waits for one; never waits."""
        if self.closed or self.used >= self.size or self._waiters:
            return False
        self.used += 1
        return True

    async def acquire(self) -> bool:
        """Take a slot; False when the window closed first."""
        if self.closed:
            return False
        if self.try_acquire():
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # A slot handed over just before the cancel must go back, or it leaks for good.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.release()
            raise

    def release(self) -> None:
        """Free a slot (a response came, or its request timed out)."""
        if self.closed:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the slot moves to the waiter; `used` stays
                return
        self.used -= 1
        if self.used == 0 and self._idle is not None:
            if not self._idle.done():
                self._idle.set_result(None)
            self._idle = None

    async def wait_idle(self) -> None:
        """Return once no slot is in use (every request answered or timed out)."""
        if self.used == 0 or self.closed:
            return
        if self._idle is None:
            self._idle = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._idle)

    def close(self) -> None:
        """Refuse every waiter and future acquire."""
        super().close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(False)
        if self._idle is not None and not self._idle.done():
            self._idle.set_result(None)
        self._idle = None
