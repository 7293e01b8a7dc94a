"""The callbacks worker: claims due rows of the outbox and delivers them to customers' URLs.

One loop claims due rows (woken through `wake` when dispatch enqueues, on PostgreSQL by the dispatch of
any node through store/wakeups.py; or every `poll_interval`) and queues them in lanes, one per sender:
a sub-account's status reports, or its replies. Up to `account_concurrency` batches of a lane are
posted at once, over kept-alive connections, so a receiver that takes 20 ms a request still takes
thousands of reports a second; sub-accounts sharing a URL each keep to their own cap. SPEC §7 promises
no order across batches (a message has one status report; `reportid` and `replyid` name repeats), so
batches of one lane may be answered in any order. At most `concurrency` posts are under way in all.

A slow or dead receiver must delay only itself. A lane holds at most `lane_batches` batches waiting;
rows that do not fit go straight back to the outbox. The claim leaves out the rows of a sender whose
lane could not take a whole claim more: so a claim rarely brings rows that have to go back, and a lane
that keeps its receiver busy is refilled before it runs dry. When a POST gets no answer at all
(timeout, refused connection, refused address), the batches waiting behind it fail with it, unsent.
So a claim's rows are settled long before its lease runs out (see `store.callbacks.claim_due`; the
lease is lengthened when `lane_batches` waiting batches could take longer to post), and no receiver
ties up the worker's `max_in_flight` budget.

A claim that leaves senders out reads their due rows and passes over them: with a large backlog of a
slow receiver, the costliest statement of the worker (and the database's writer is shared). When one
finds nothing else due, the next claim that leaves senders out waits nine times as long as it took, so
such claims take at most about a tenth of the time; the other senders' new rows wait up to that long
(passing over 100,000 rows took 40 to 90 ms on SQLite, on a busy machine of 2 cores).

A failing receiver is logged by host at WARNING, at most once a minute while it keeps failing, and
once at INFO when it answers again (see `receivers.py`).

Outcomes are written back in groups, one unit of work for all the POSTs that ended since the last one,
while the lanes go on posting: done, due again after the schedule's next delay, or dead once the
schedule is exhausted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from smsplatform.callbacks.batches import MAX_REPORTS_PER_POST, Batch, Lane, Sender
from smsplatform.callbacks.guard import Resolver, resolve
from smsplatform.callbacks.poster import Failure, Poster
from smsplatform.callbacks.receivers import ReceiverLog, host_of
from smsplatform.callbacks.schedule import DAY, RetrySchedule
from smsplatform.callbacks.transport import GuardedTransport
from smsplatform.store import callbacks as outbox
from smsplatform.store.callbacks import REPLY, REPORT
from smsplatform.store.clock import now as wall_clock
from smsplatform.store.database import Database

log = logging.getLogger(__name__)


def quiet_httpx() -> None:
    """httpx logs every request at INFO, URL and query included: at our rate, nearly the whole log, and
    customers' tokens in it. Unless logging was set up to say otherwise, only its warnings are kept."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class CallbackStats:
    delivered: int  # items a receiver acknowledged
    failed: int  # failed item attempts (each retried later, or given up)
    dead: int  # items given up after the schedule
    pending: int  # items this worker claimed and has not settled yet


class CallbackWorker:
    """Delivers the callbacks outbox until stopped.

    `wake` is set by whoever enqueues (the worker clears it); `allow_private` lets callbacks reach
    private and loopback addresses (tests, closed networks); `schedule` and `clock` decide when failed
    rows are due again. The counters (`delivered`, `failed`, `dead`, `pending`) are this process's;
    `store.callbacks.count_by_state` gives the outbox's. `account_concurrency` caps the requests in
    flight per sender (a sub-account's reports, or its replies), `concurrency` those of the worker.
    Rows delivered are deleted after `keep_done_seconds`, rows given up after `keep_dead_seconds` (None
    keeps them).
    """

    def __init__(
        self,
        db: Database,
        *,
        allow_private: bool,
        poll_interval: float = 1.0,
        wake: asyncio.Event | None = None,
        schedule: RetrySchedule | None = None,
        clock: Callable[[], int] = wall_clock,
        account_concurrency: int = 4,
        concurrency: int = 256,
        claim_size: int = 500,
        max_in_flight: int = 5000,
        lane_batches: int = 15,
        report_limit: int = MAX_REPORTS_PER_POST,
        lease_seconds: int = outbox.DEFAULT_LEASE_SECONDS,
        connect_timeout: float = 5.0,
        total_timeout: float = 10.0,
        resolver: Resolver = resolve,
        keep_done_seconds: int | None = DAY,
        keep_dead_seconds: int | None = 7 * DAY,
        purge_every: float = 60.0,
    ) -> None:
        self._db = db
        self._allow_private = allow_private
        self._poll_interval = poll_interval
        self._wake = wake
        self._schedule = schedule or RetrySchedule()
        self._clock = clock
        if account_concurrency < 1 or concurrency < 1:
            raise ValueError("a callback worker needs at least one request in flight")
        self._account_concurrency = account_concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._claim_size = claim_size
        self._max_in_flight = max_in_flight
        self._lane_batches = lane_batches
        self._report_limit = report_limit
        # A lane is claimed for while it has room for a claim's batches (or is empty).
        self._refill_at = {
            REPORT: max(0, lane_batches - -(-claim_size // report_limit)),
            REPLY: max(0, lane_batches - claim_size),  # a reply is a POST of its own
        }
        # Long enough for the last of a full lane's batches to be posted, each taking up to the timeout.
        self._lease_seconds = max(
            lease_seconds, math.ceil((lane_batches / account_concurrency + 1) * total_timeout)
        )
        self._timeout = httpx.Timeout(total_timeout, connect=connect_timeout)
        self._total_timeout = total_timeout
        self._resolver = resolver
        self._keep = {outbox.DONE: keep_done_seconds, outbox.DEAD: keep_dead_seconds}
        self._purge_every = purge_every
        self._receivers = ReceiverLog(clock=clock)
        self._next_purge = 0.0
        self._lanes: dict[Sender, Lane] = {}
        self._posters: set[asyncio.Task[None]] = set()
        self._owned: set[int] = set()  # ids claimed and not settled yet
        self._outcomes: list[tuple[Batch, Failure | None]] = []  # posted, not yet written back
        self._outcome_ready = asyncio.Event()
        self._nudge = asyncio.Event()
        self._skipping_from = 0.0  # (monotonic) no claim that leaves senders out before then
        self._deferred = False  # a claim waits for `_skipping_from`
        self._stopping = False
        self._finished = asyncio.Event()
        self._running = False
        self.delivered = 0
        self.failed = 0
        self.dead = 0

    @property
    def pending(self) -> int:
        return len(self._owned)

    def stats(self) -> CallbackStats:
        return CallbackStats(self.delivered, self.failed, self.dead, self.pending)

    @property
    def failing_receivers(self) -> dict[str, str]:
        """Hosts whose last post failed, with the answer (for metrics and the console)."""
        return self._receivers.failing

    async def run(self) -> None:
        """Delivers until `stop()`; the posts under way when it is called are finished first."""
        self._running = True
        quiet_httpx()
        # A connection for every post the worker allows under way: none waits for the pool, and each
        # sender's connections stay open between its posts (httpcore closes idle ones for new hosts).
        transport = GuardedTransport(
            allow_private=self._allow_private, max_connections=self._concurrency, resolver=self._resolver
        )
        client = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            follow_redirects=False,
            trust_env=False,  # an environment proxy would connect on our behalf, past the guard
        )
        poster = Poster(client, total_timeout=self._total_timeout)
        recorder = asyncio.create_task(self._record_outcomes())
        relay = asyncio.create_task(self._relay_wake()) if self._wake is not None else None
        try:
            while not self._stopping:
                await self._purge_if_due()
                again = await self._claim_once(poster)
                if not again or len(self._owned) >= self._max_in_flight:
                    await self._idle()
        finally:
            self._stopping = True  # also when cancelled: lanes stop after the post under way
            if relay is not None:
                relay.cancel()
            await self._drain_lanes()
            self._outcome_ready.set()
            await asyncio.gather(recorder, return_exceptions=True)  # writes the last outcomes, then ends
            await self._release_unsent()
            await client.aclose()
            self._running = False
            self._finished.set()

    async def stop(self) -> None:
        """Stops claiming, lets the posts under way finish, and hands unsent claims back to the outbox."""
        self._stopping = True
        self._nudge.set()
        if self._running:
            await self._finished.wait()

    async def _relay_wake(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._nudge.set()

    async def _idle(self) -> None:
        wait = self._poll_interval
        if self._deferred:
            wait = min(wait, max(0.0, self._skipping_from - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._nudge.wait()
        self._nudge.clear()

    async def _purge_if_due(self) -> None:
        """Deletes settled rows older than their retention, a bounded amount at a time."""
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self._purge_every
        for state, keep in self._keep.items():
            if keep is None:
                continue
            for _ in range(10):  # at most 100,000 rows a round; the next round takes the rest
                try:
                    deleted = await self._db.write(outbox.purge_settled, state, self._clock() - keep, 10_000)
                except Exception:
                    log.exception("purging settled callbacks failed")
                    return
                if deleted < 10_000:
                    break

    async def _claim_once(self, poster: Poster) -> bool:
        """Claims what fits and queues it; True when the claim came back full (more may be due)."""
        self._deferred = False
        room = min(self._claim_size, self._max_in_flight - len(self._owned))
        if room <= 0:
            return False
        skip = {sender for sender, lane in self._lanes.items() if lane.holds_back()}
        self._deferred = bool(skip) and time.monotonic() < self._skipping_from
        if self._deferred:
            return False
        started = time.monotonic()
        try:
            claimed = await self._db.write_urgent(
                outbox.claim_due, self._clock(), room, self._lease_seconds, skip
            )
        except Exception:
            log.exception("claiming callbacks failed")
            return False
        if skip and len(claimed) < room:
            ended = time.monotonic()
            self._skipping_from = ended + 9 * (ended - started)
        overflow: list[int] = []
        owned, lanes, cap = self._owned, self._lanes, self._lane_batches
        touched: dict[Sender, Lane] = {}
        for item in claimed:
            if item.id in owned:
                continue  # still queued here from an earlier claim whose lease ran out
            sender = (item.account_id, item.kind)
            lane = lanes.get(sender)
            if lane is None:
                lane = lanes[sender] = Lane(sender, self._report_limit, self._refill_at[item.kind])
            if lane.add(item, cap):
                owned.add(item.id)
                touched[sender] = lane
            else:
                overflow.append(item.id)
        for lane in touched.values():
            self._start_posters(lane, poster)
        if overflow:
            # Due again at once: the claim skips this sender until its lane has room.
            try:
                await self._db.write_urgent(outbox.release, overflow, self._clock())
            except Exception:
                log.exception("handing back %d callbacks failed; they return with their lease", len(overflow))
        return len(claimed) == room

    def _start_posters(self, lane: Lane, poster: Poster) -> None:
        """Enough posters for the lane's waiting batches, up to the cap: each takes batches until none
        wait, so a poster not yet posting will take one of them."""
        not_posting = lane.posters - lane.posting
        wanted = min(self._account_concurrency - lane.posters, len(lane.waiting) - not_posting)
        for _ in range(wanted):
            lane.posters += 1
            task = asyncio.create_task(self._post_lane(lane, poster))
            self._posters.add(task)
            task.add_done_callback(self._posters.discard)

    async def _post_lane(self, lane: Lane, poster: Poster) -> None:
        try:
            while lane.waiting and not self._stopping:
                async with self._slots:
                    if self._stopping or not lane.waiting:
                        break
                    batch = lane.waiting.popleft()
                    if len(lane.waiting) == lane.refill_at:
                        self._nudge.set()  # room for a claim's worth: claim before the lane runs dry
                    lane.posting += 1
                    try:
                        failure = await poster.post(batch)
                    finally:
                        lane.posting -= 1
                host = host_of(batch.url)
                if failure is None:
                    self._receivers.succeeded(host)
                else:
                    self._receivers.failed(host, failure.reason)
                self._outcomes.append((batch, failure))
                if failure is not None and failure.unreachable:
                    unsent = Failure(f"not sent: {failure.reason}", unreachable=True)
                    self._outcomes += [(queued, unsent) for queued in lane.waiting]
                    lane.waiting.clear()
                self._outcome_ready.set()
        finally:
            lane.posters -= 1
            if lane.idle and self._lanes.get(lane.sender) is lane:
                del self._lanes[lane.sender]

    async def _record_outcomes(self) -> None:
        while not (self._stopping and not self._posters and not self._outcomes):
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            await self._flush()

    async def _flush(self) -> None:
        """Writes every outcome gathered since the last flush as one unit of work.

        Lanes do not wait for it: the next POST goes out while the last one's outcome is being committed.
        """
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return
        now = self._clock()
        done: list[int] = []
        retries: list[tuple[int, int, str]] = []
        dead: list[tuple[int, str]] = []
        for batch, failure in outcomes:
            if failure is None:
                done += batch.ids
                continue
            log.debug("callback to %s failed (%d items): %s", batch.url, len(batch.items), failure.reason)
            for item in batch.items:
                at = self._schedule.next_attempt_at(item.attempts, item.created_at, now)
                if at is None:
                    dead.append((item.id, failure.reason))
                else:
                    retries.append((item.id, at, failure.reason))
        settled = [item.id for batch, _ in outcomes for item in batch.items]
        # Worth a claim: the in-flight budget stopped the last one, or retries are due at once.
        claim = len(self._owned) >= self._max_in_flight or any(at <= now for _, at, _ in retries)
        try:
            await self._db.write_urgent(outbox.settle, done=done, retries=retries, dead=dead, now=now)
        except Exception:
            # The rows stay leased and come back when the lease runs out: a late duplicate, not a loss.
            log.exception("recording the outcome of %d callbacks failed", len(settled))
        else:
            self.delivered += len(done)
            self.failed += len(settled) - len(done)
            self.dead += len(dead)
        finally:
            self._owned.difference_update(settled)
            if claim:
                self._nudge.set()

    async def _drain_lanes(self) -> None:
        """Waits for the posts under way (posters stop after them once `_stopping` is set)."""
        while self._posters:
            await asyncio.gather(*self._posters, return_exceptions=True)

    async def _release_unsent(self) -> None:
        """Hands what was claimed but never sent back to the outbox, due at once."""
        unsent = [item.id for lane in self._lanes.values() for batch in lane.waiting for item in batch.items]
        self._lanes.clear()
        if unsent:
            try:
                await self._db.write_urgent(outbox.release, unsent, self._clock())
            except Exception:
                log.exception("handing back unsent callbacks failed; they return when their lease runs out")
            self._owned.difference_update(unsent)
