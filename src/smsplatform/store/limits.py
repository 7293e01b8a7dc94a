"""Limits that hold across a restart, counted in the store: sends per number, a customer's requests a
day, a caller's `send`s a minute.

Each count is kept where its path can afford it:

- **Per number** (frequency limits per sub-account, kind and number): the stored messages are the
  count. The acceptance reads the sends to its numbers within their longest window from `messages`
  (index `mobile, id`; the window becomes an id range) in the transaction that inserts the new ones:
  one query per batch of acceptances, nothing in memory, nothing to lose. SQLite's one writer takes
  acceptances in turn; on PostgreSQL the acceptance first locks its sub-accounts' rows (in id order),
  so two processes accepting for one sub-account take turns too and each sees the other's messages.
- **Per customer a day** (`daily_request_limit`, code 104): one row per customer and local day in
  `limit_counters`, counted up by one conditional upsert that commits before the call is answered:
  exact on both backends and across processes, and only customers with a limit pay for it.
- **Per caller IP** (`send`, code 106), which every call pays, is counted in this process: windows
  under a minute in memory alone (no restart is that quick), longer ones in one-second buckets that
  are written to `limit_counters` within `FLUSH_SECONDS` of a hit and on shutdown, and read back on
  start. A SIGKILL forgets at most the hits of the last `FLUSH_SECONDS` (and of a flush under way).
  Several API processes each count their own callers (one process serves the API on SQLite).

`SendHistory` and `RequestLimits` are the whole interface the acceptance and the API use. Scaled out
(`redis_url`), every node counts in Redis instead (`cluster/limits.py`): the API's guard asks a
`RequestLimits` on Redis, and the acceptance takes the frequency decisions made there
(`SendRequest.within`) instead of asking `SendHistory`. The daily count here then serves only the
endpoints other than `send` while Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import weakref
from collections.abc import Collection, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from smsplatform.domain.frequency import BucketCounter, Limit, SlidingWindowCounter
from smsplatform.store.database import Database
from smsplatform.store.driver import chunks, execute_for_ids
from smsplatform.store.rollups import DAY, period_start
from smsplatform.store.schema import accounts, limit_counters, messages
from smsplatform.store.search import TIME_SLACK, first_id_at

log = logging.getLogger(__name__)

# (sub-account id, kind, number): what a frequency limit counts.
NumberKey = tuple[int, str, str]

SCOPE_DAILY = "daily"
SCOPE_CALLER = "ip"

# Caller windows this long or longer are counted in buckets and stored; shorter ones in memory only.
STORED_WINDOW = 60
FLUSH_SECONDS = 1.0


class SendHistory(Protocol):
    """The sends a frequency limit counts, asked from inside the acceptance's transaction."""

    def sent(
        self, conn: sa.Connection, account_ids: Collection[int], mobiles: Collection[str], since: int
    ) -> dict[NumberKey, list[int]]:
        """The times (unix seconds, oldest first) of the sends after `since` to `mobiles` from
        `account_ids`, by key; once this returns, no other acceptance can add to them until commit."""
        ...

    def record(self, conn: sa.Connection, hits: Sequence[tuple[NumberKey, int]]) -> None:
        """The sends this acceptance adds, before it commits."""
        ...


class RequestLimits(Protocol):
    """The counters the API's guard asks: per caller address and per customer a day."""

    async def allow_caller(self, address: str, limits: Sequence[Limit], now: float) -> bool:
        """Counts one `send` from `address` at `now` (unix time) if `limits` allow it."""
        ...

    async def allow_request(self, customer_id: int, per_day: int, now: float) -> bool:
        """Counts one call of the customer's if fewer than `per_day` were counted on its local day."""
        ...

    async def close(self) -> None:
        """Stores what is counted and not stored yet."""
        ...


# --- per number: the stored messages -----------------------------------------------------------------

_SENT = (
    f"SELECT account_id, kind, mobile, created_at FROM {messages.name} "
    "WHERE id >= ? AND created_at > ? AND mobile IN ({ids})"
)
_LOCK_ACCOUNTS = (
    sa.select(accounts.c.id)
    .where(accounts.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(accounts.c.id)
    .with_for_update()
)
_BOUNDS = sa.select(
    sa.select(sa.func.min(messages.c.id)).scalar_subquery(),
    sa.select(sa.func.max(messages.c.id)).scalar_subquery(),
)
# Ids a floor stays below the newest id when it is found: on PostgreSQL, an acceptance still open then
# may commit rows with lower ids than one already committed. Larger than any batch of acceptances.
_FLOOR_MARGIN = 100_000
# Windows start on these boundaries when looking up their first id: one lookup serves a minute.
_FLOOR_STEP = 60


class StoredSendHistory:
    """The messages table is the history: nothing to write, nothing kept in memory but id floors."""

    def __init__(self) -> None:
        # Per engine (tests open many databases in one process): window start → the id from which on
        # messages can be stamped at that time or later. A few entries; ids only grow.
        self._floors: weakref.WeakKeyDictionary[sa.Engine, dict[int, int]] = weakref.WeakKeyDictionary()

    def sent(
        self, conn: sa.Connection, account_ids: Collection[int], mobiles: Collection[str], since: int
    ) -> dict[NumberKey, list[int]]:
        if conn.dialect.name == "postgresql":
            # The rows stay locked until commit: the other processes' acceptances for these
            # sub-accounts wait, and those that went first are committed, hence read below.
            conn.execute(_LOCK_ACCOUNTS, {"ids": sorted(set(account_ids))})
        floor = self._floor(conn, since)
        wanted = set(account_ids)
        found: dict[NumberKey, list[int]] = {}
        for chunk in chunks(sorted(set(mobiles))):
            for account_id, kind, mobile, created_at in execute_for_ids(conn, _SENT, chunk, floor, since):
                if account_id in wanted:
                    found.setdefault((account_id, kind, mobile), []).append(created_at)
        for times in found.values():
            times.sort()
        return found

    def record(self, conn: sa.Connection, hits: Sequence[tuple[NumberKey, int]]) -> None:
        """Nothing to do: the acceptance's own message rows are the record."""

    def _floor(self, conn: sa.Connection, since: int) -> int:
        """An id below every message stamped after `since`, found once a minute by binary search."""
        start = (since - TIME_SLACK) // _FLOOR_STEP * _FLOOR_STEP
        floors = self._floors.setdefault(conn.engine, {})
        floor = floors.get(start)
        if floor is None:
            low, high = conn.execute(_BOUNDS).one()
            if low is None:
                return 0  # empty: nothing to look up, nothing to remember
            found = first_id_at(conn, messages, messages.c.created_at, start, (int(low), int(high) + 1))
            floor = max(0, min(found, int(high) + 1 - _FLOOR_MARGIN))
            if len(floors) >= 8:
                del floors[min(floors)]
            floors[start] = floor
        return floor


STORED_HISTORY = StoredSendHistory()


# --- per customer a day: write-through -------------------------------------------------------------


def _count_request_statement(insert: Any) -> Any:
    statement = insert(limit_counters).values(
        scope=SCOPE_DAILY,
        key=sa.bindparam("key"),
        window_start=sa.bindparam("day"),
        count=1,
    )
    return statement.on_conflict_do_update(
        index_elements=list(limit_counters.primary_key.columns),
        set_={"count": limit_counters.c.count + 1},
        where=limit_counters.c.count < sa.bindparam("per_day"),
    ).returning(limit_counters.c.count)


_COUNT_REQUEST = {
    "sqlite": _count_request_statement(sqlite.insert),
    "postgresql": _count_request_statement(postgresql.insert),
}
_FORGET_DAYS = sa.delete(limit_counters).where(
    limit_counters.c.scope == SCOPE_DAILY, limit_counters.c.window_start < sa.bindparam("before")
)
# Per engine, the last local day older days' rows were deleted for.
_forgotten: weakref.WeakKeyDictionary[sa.Engine, int] = weakref.WeakKeyDictionary()


def count_requests(conn: sa.Connection, asks: Sequence[tuple[str, int, int]]) -> list[bool]:
    """For each (customer key, local day, limit): counts one call and True, or False (not counted) when
    the day's count has reached the limit. Batched: one statement per call, one commit for all."""
    statement = _COUNT_REQUEST[conn.dialect.name]
    allowed = []
    for key, day, per_day in asks:
        if per_day <= 0:
            allowed.append(False)
            continue
        counted = conn.execute(statement, {"key": key, "day": day, "per_day": per_day}).first()
        allowed.append(counted is not None)
    newest = max(day for _, day, _ in asks)
    if newest > _forgotten.get(conn.engine, 0):
        # Yesterday's rows stay for a while (a call at midnight may still be counted against it).
        conn.execute(_FORGET_DAYS, {"before": newest - DAY})
        _forgotten[conn.engine] = newest
    return allowed


def requests_today(conn: sa.Connection, customer_id: int, now: int) -> int:
    """The calls counted for the customer on its local day (for the operator and the tests)."""
    count = conn.execute(
        sa.select(limit_counters.c.count).where(
            limit_counters.c.scope == SCOPE_DAILY,
            limit_counters.c.key == str(customer_id),
            limit_counters.c.window_start == period_start(DAY, now),
        )
    ).scalar()
    return int(count or 0)


# --- per caller: counted in memory, stored in batches ---------------------------------------------


def _add_counts_statement(insert: Any) -> Any:
    statement = insert(limit_counters)
    return statement.on_conflict_do_update(
        index_elements=list(limit_counters.primary_key.columns),
        set_={"count": limit_counters.c.count + statement.excluded.count},
    )


_ADD_COUNTS = {
    "sqlite": _add_counts_statement(sqlite.insert),
    "postgresql": _add_counts_statement(postgresql.insert),
}


def store_caller_counts(
    conn: sa.Connection, counts: Sequence[tuple[str, int, int]], forget_before: int
) -> None:
    """Adds (address, second, hits) to the stored buckets and deletes those older than `forget_before`."""
    if counts:
        conn.execute(
            _ADD_COUNTS[conn.dialect.name],
            [{"scope": SCOPE_CALLER, "key": k, "window_start": s, "count": n} for k, s, n in counts],
        )
    conn.execute(
        sa.delete(limit_counters).where(
            limit_counters.c.scope == SCOPE_CALLER, limit_counters.c.window_start < forget_before
        )
    )


def caller_counts(conn: sa.Connection, since: int) -> list[tuple[str, int, int]]:
    """The stored (address, second, hits) from `since` on."""
    rows = conn.execute(
        sa.select(limit_counters.c.key, limit_counters.c.window_start, limit_counters.c.count).where(
            limit_counters.c.scope == SCOPE_CALLER, limit_counters.c.window_start >= since
        )
    )
    return [(key, int(second), int(count)) for key, second, count in rows]


@functools.lru_cache(maxsize=64)
def _split(limits: tuple[Limit, ...]) -> tuple[tuple[Limit, ...], tuple[Limit, ...]]:
    """(windows kept in memory only, windows stored)."""
    return (
        tuple(limit for limit in limits if limit.window_seconds < STORED_WINDOW),
        tuple(limit for limit in limits if limit.window_seconds >= STORED_WINDOW),
    )


class StoreRequestLimits:
    """`RequestLimits` on the store (see the module docstring for what each count costs and keeps)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._recent = SlidingWindowCounter()
        self._buckets = BucketCounter()
        self._restored = False
        self._restoring: asyncio.Lock | None = None
        # The longest stored window asked for: stored buckets older than that are of no use.
        self._keep = STORED_WINDOW
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None

    async def allow_caller(self, address: str, limits: Sequence[Limit], now: float) -> bool:
        recent, stored = _split(tuple(limits))
        if stored:
            self._keep = max(self._keep, *(limit.window_seconds for limit in stored))
        if not self._restored:
            await self._restore(now)
        if stored and not self._buckets.allows(address, stored, now):
            return False
        if recent and not self._recent.try_acquire(address, recent, now):
            return False
        if stored:
            self._buckets.hit(address, stored, now)
            self._schedule_flush()
        return True

    async def allow_request(self, customer_id: int, per_day: int, now: float) -> bool:
        day = period_start(DAY, int(now))
        allowed: bool = await self._db.write_batched(count_requests, (str(customer_id), day, per_day))
        return allowed

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is not None:
            await self._flushing
        await self._flush()

    async def _restore(self, now: float) -> None:
        """Reads back the stored buckets once, before the first caller is counted."""
        if self._restoring is None:
            self._restoring = asyncio.Lock()
        async with self._restoring:
            if self._restored:
                return
            since = int(now) - self._keep
            for address, second, count in await self._db.read(caller_counts, since):
                self._buckets.add(address, second, count, self._keep)
            self._restored = True

    def _schedule_flush(self) -> None:
        if self._timer is None and self._flushing is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        self._flushing = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        drained = self._buckets.drain()
        if not drained:
            return
        try:
            counts = [(str(address), second, count) for address, second, count in drained]
            # A bucket is counted until its second has fully left the window: one second more.
            await self._db.write(store_caller_counts, counts, int(time.time()) - self._keep - 1)
        except Exception:
            self._buckets.restore_pending(drained)
            log.warning("could not store the callers' request counts; retrying", exc_info=True)
        finally:
            self._flushing = None
        if self._buckets.pending:
            self._schedule_flush()
