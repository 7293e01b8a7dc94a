"""Wake-ups that cross processes and machines: PostgreSQL's `LISTEN/NOTIFY`.

Scaled out, the node that accepts a send is seldom the one that dispatches it, and the node that makes
a callback due is seldom the one that posts it: an asyncio Event does not reach them, and they would
find the work only at their next poll (a second). A `Wakeups` per process sends a payload-free
`NOTIFY` on a channel when there is work, and sets the local events of the channels it listens to when
any process notifies them. Whoever makes work due inside a transaction notifies in it (`notify_in`):
PostgreSQL delivers that NOTIFY at the commit, so no listener looks for the work before it is there.

Wake-ups only wake: the work itself is in the database, and every loop they wake still polls. So a
wake-up may be lost (the database restarting, a connection being killed) and costs only that poll's
delay.

Two connections of its own, both in autocommit and on the event loop (psycopg's async connection: no
thread, and stopping is cancelling):

- the sender coalesces: however many `notify` calls come while a NOTIFY is on its way, one more follows
  it, so a busy API sends at most one NOTIFY per channel per round trip and an idle one sends each
  wake-up at once; one that fails is sent again once it has connected again;
- the listener LISTENs to the channels it was given, reconnecting with growing delays while the
  database is away, and sets every listened event once it is back: what was notified meanwhile never
  reached it.

NOTIFY reaches the listeners of the same database only, so the channel names need no platform prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Final

import psycopg
import sqlalchemy as sa
from psycopg import sql

from smsplatform.store.database import Database

log = logging.getLogger(__name__)

OUTBOX: Final = "smsplatform_outbox"  # messages were accepted: dispatchers claim
CALLBACKS: Final = "smsplatform_callbacks"  # callback rows became due: callback workers claim

# Seconds between attempts to reach the database again, growing while it stays away.
RECONNECT_DELAYS: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
# A peer that vanished without closing the connection (a machine gone) is noticed within about a
# minute: the listener would otherwise wait for notifications on a dead socket for ever.
_KEEPALIVES_IDLE: Final = 30
_KEEPALIVES_INTERVAL: Final = 10
_KEEPALIVES_COUNT: Final = 3
_CONNECT_TIMEOUT: Final = 5


def notify_in(conn: sa.Connection, channel: str) -> None:
    """NOTIFY `channel` in `conn`'s transaction: delivered when it commits, never if it rolls back
    (PostgreSQL sends one per channel however many a transaction makes)."""
    conn.exec_driver_sql(f'NOTIFY "{channel}"')


def conninfo_of(db: Database) -> str:
    """The libpq address of `db`'s PostgreSQL database (password included)."""
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class Wakeups:
    """One process's wake-ups over PostgreSQL: `notify(channel)` from the event loop, and events set
    when a channel given to `listen` is notified by any process (this one included).

    `listen` before `start`; `start` and `notify` on the event loop that sets the events."""

    def __init__(
        self,
        conninfo: str,
        *,
        reconnect_delays: Sequence[float] = RECONNECT_DELAYS,
        application_name: str = "smsplatform wakeups",
    ) -> None:
        self._conninfo = conninfo
        self._delays = tuple(reconnect_delays)
        self._application_name = application_name
        self._listeners: dict[str, list[asyncio.Event]] = {}
        self._pending: set[str] = set()
        self._to_send = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()
        self._away: set[str] = set()  # which connections are failing (logged once each way)
        self.sent = 0  # NOTIFYs sent (tests, figures)

    @classmethod
    def for_database(cls, db: Database, *, application_name: str = "smsplatform wakeups") -> Wakeups:
        return cls(conninfo_of(db), application_name=application_name)

    def listen(self, channel: str, event: asyncio.Event) -> None:
        """Set `event` whenever `channel` is notified (and once after each reconnect)."""
        self._listeners.setdefault(channel, []).append(event)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._send_loop(), name="wakeups: notify"))
        if self._listeners:
            self._tasks.append(loop.create_task(self._listen_loop(), name="wakeups: listen"))

    async def listening(self) -> None:
        """Until the listener's LISTENs are in place (tests; `serve` does not wait for them)."""
        await self._listening.wait()

    def notify(self, channel: str) -> None:
        """Tell every listener of `channel`, soon: on its way at once unless one is already, in which
        case one more follows it."""
        self._pending.add(channel)
        self._to_send.set()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # -- the sender ---------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        conn: psycopg.AsyncConnection[object] | None = None
        failures = 0
        try:
            while True:
                await self._to_send.wait()
                self._to_send.clear()
                channels, self._pending = self._pending, set()
                try:
                    if conn is None or conn.closed:
                        conn = await self._connect("notify")
                    for channel in sorted(channels):
                        await conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(channel)))
                        self.sent += 1
                except psycopg.Error as error:
                    await _discard(conn)
                    conn = None
                    self._failed("notify", error)
                    # Sent again once connected: unless the database stays away, the wake-up is late,
                    # not lost.
                    self._pending |= channels
                    self._to_send.set()
                    await asyncio.sleep(self._delay(failures))
                    failures += 1
                else:
                    failures = 0
                    self._back("notify")
        finally:
            await _discard(conn)

    # -- the listener -------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        failures = 0
        while True:
            conn: psycopg.AsyncConnection[object] | None = None
            try:
                conn = await self._connect("listen")
                for channel in self._listeners:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                self._back("listen")
                failures = 0
                self._listening.set()
                self._wake(self._listeners)  # what was notified while we were away
                async for notification in conn.notifies():
                    self._wake((notification.channel,))
            except psycopg.Error as error:
                self._listening.clear()
                self._failed("listen", error)
                await asyncio.sleep(self._delay(failures))
                failures += 1
            finally:
                await _discard(conn)

    def _wake(self, channels: Iterable[str]) -> None:
        for channel in channels:
            for event in self._listeners.get(channel, ()):
                event.set()

    # -- connections --------------------------------------------------------------------------

    async def _connect(self, role: str) -> psycopg.AsyncConnection[object]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=_CONNECT_TIMEOUT,
            application_name=f"{self._application_name} ({role})",
            keepalives=1,
            keepalives_idle=_KEEPALIVES_IDLE,
            keepalives_interval=_KEEPALIVES_INTERVAL,
            keepalives_count=_KEEPALIVES_COUNT,
        )

    def _delay(self, failures: int) -> float:
        return self._delays[min(failures, len(self._delays) - 1)] if self._delays else 0.0

    def _failed(self, role: str, error: psycopg.Error) -> None:
        if role not in self._away:
            self._away.add(role)
            log.warning(
                "wake-ups (%s) lost the database (%s): dispatch and callbacks poll until it is back",
                role,
                _first_line(error),
            )

    def _back(self, role: str) -> None:
        if role in self._away:
            self._away.discard(role)
            log.warning("wake-ups (%s) reach the database again", role)


async def _discard(conn: psycopg.AsyncConnection[object] | None) -> None:
    if conn is not None:
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.close()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
