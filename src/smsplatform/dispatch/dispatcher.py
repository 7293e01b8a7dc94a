"""The dispatcher: from queued messages to submitted ones, and from receipts and replies to state.

One loop claims due messages in batches (woken by the API after it accepted a send, or every poll
interval) and starts one task per message, which submits it over its route (`submitter.py`); their
outcomes, the connectors' receipts and the replies each go to the store through a `WriteBatcher`,
one transaction per batch. A housekeeping task renews this dispatcher's leases, gives back the
claims of dispatchers that died, applies receipts that overtook their submit result, drops traffic
rollups past their keeping time, and picks up configuration changes.

How many messages are in flight is bounded (`max_in_flight`); the connectors' windows and
submit-per-second caps pace the submits themselves.

With a `SubmitJournal`, every submit is on record as it goes on the wire and as it is answered, and
the claims of a dispatcher that stopped are given back by its journal, before anything else: at start
(those of processes that died), at each housekeeping round (those of a process that died meanwhile, a
dispatch worker `serve` restarts), and at stop (this one's own). Only submits on the wire without an
answer then count as possibly sent. Scaled out, each journal is mirrored to Redis too
(cluster/submit_records.py), and the claims of a dispatcher of another machine are given back by its
mirrored journal once it counts as dead there (no alive key in Redis, no report of its links in the
database: about 15 s, half a lease). Expired leases are requeued blindly, each counted as possibly
sent, only for owners with no journal here and none in Redis (or when Redis cannot be read).

A receipt or reply is acknowledged to its SMSC only once it is stored, so a crash never loses one:
by default once its batch is committed; with a `ReceiptJournal`, receipts once they are fsynced to
the journal, which lets receipts flow faster than one SMSC window per commit (see journal.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from smsplatform.cluster.shared import SharedUnavailable
from smsplatform.cluster.submit_records import live_since, reported_since
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import ConnectorStats, DeliveryReport, InboundSms
from smsplatform.dispatch.batcher import WriteBatcher
from smsplatform.dispatch.journal import ReceiptJournal, Recovered
from smsplatform.dispatch.manager import ConnectorManager
from smsplatform.dispatch.policy import DispatchPolicy
from smsplatform.dispatch.submit_journal import DeadJournal, SubmitJournal, claims_of_record
from smsplatform.dispatch.submitter import later, submit_message
from smsplatform.domain.submit_outcomes import SubmitOutcome
from smsplatform.store import expiry, rollups
from smsplatform.store.claims import (
    ClaimedMessage,
    GivenBack,
    claim,
    give_back_claims,
    release_leases,
    renew_leases,
    requeue_expired,
)
from smsplatform.store.database import Database
from smsplatform.store.receipts import (
    ReceiptIn,
    ReceiptSummary,
    apply_receipts,
    purge_unmatched,
    rematch_receipts,
)
from smsplatform.store.replies import InboundIn, StoredReply, store_inbound
from smsplatform.store.results import RecordSummary, record_results
from smsplatform.store.wakeups import notify_in

log = logging.getLogger(__name__)

_PURGE_EVERY = 600.0  # seconds between purges of receipts that never found their message
_PRUNE_EVERY = 300.0  # seconds between prunes of old minute and hour rollups
_REMATCH_WINDOW = 600  # seconds: two transactions that ran side by side are that close, and more
_TIMEOUTS_EVERY = 10.0  # seconds between sweeps for reports that never came (sooner while behind)


@dataclass(slots=True)
class DispatchStats:
    """What the dispatcher did since it started (for metrics and the console)."""

    claimed: int = 0
    submitted: int = 0
    retried: int = 0
    failed: int = 0
    receipts: int = 0  # receipts that set a part's state
    duplicate_receipts: int = 0
    unmatched_receipts: int = 0  # kept until their part is recorded
    finished: int = 0  # messages made final by receipts
    timed_out: int = 0  # messages whose report never came, made final (unknown) by the timeout
    replies: int = 0
    requeued: int = 0  # claims of dead dispatchers given back
    recovered: int = 0  # of dead dispatchers' claims, those their journal shows answered: recorded
    in_flight: int = 0


def _default_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class _Chores:
    renewed: int
    requeued: int
    rematched: int
    finished: int
    pruned: int = 0


def _housekeep(
    conn: sa.Connection,
    owner: str,
    now: int,
    lease_until: int | None,
    purge_before: int | None,
    prune: bool = False,
    keep: Sequence[str] = (),
) -> _Chores:
    renewed = 0
    if lease_until is not None:
        # Only leases past half their time: each in-flight row is rewritten once a half-lease, not
        # once a housekeeping round.
        renewed = renew_leases(conn, owner, lease_until, ending_before=now + (lease_until - now) // 2)
    requeued = requeue_expired(conn, now, keep)
    rematched, finished = 0, 0
    if conn.dialect.name == "postgresql":  # the only backend whose writers can miss each other
        rematched, finished = rematch_receipts(conn, now, now - _REMATCH_WINDOW)
    if purge_before is not None:
        purge_unmatched(conn, purge_before)
    pruned = rollups.prune(conn, now) if prune else 0
    return _Chores(renewed, requeued, rematched, finished, pruned)


class Dispatcher:
    """Runs until stop(): claims, submits, records; turns receipts and replies into state.

    `wake` is the event the API sets after accepting messages; losing a wake-up only delays the
    claim to the next poll. `owner` names this dispatcher's leases (host, pid and a random tag by
    default). `journal`, when given, takes receipts before the store does; `submit_journal`, submits
    as they go on the wire and are answered. `clock` gives unix seconds. `callbacks_channel` (on
    PostgreSQL) is NOTIFYed in each transaction that makes callbacks due, which wakes the callback
    workers of every node once it commits (store/wakeups.py).
    """

    def __init__(
        self,
        db: Database,
        connectors: ConnectorManager,
        wake: asyncio.Event | None = None,
        *,
        policy: DispatchPolicy | None = None,
        owner: str | None = None,
        journal: ReceiptJournal | None = None,
        submit_journal: SubmitJournal | None = None,
        clock: Callable[[], float] = time.time,
        on_callbacks_due: Callable[[], None] | None = None,
        callbacks_channel: str | None = None,
    ) -> None:
        self._db = db
        # Called (on the event loop) when a write owed customers a callback, so that the callback
        # worker posts it at once.
        self._on_callbacks_due = on_callbacks_due
        self._callbacks_channel = callbacks_channel
        self._loop: asyncio.AbstractEventLoop | None = None
        self.connectors = connectors
        self.wake = wake if wake is not None else asyncio.Event()
        self.policy = policy or DispatchPolicy()
        self.owner = owner or _default_owner()
        self._clock = clock
        self._stats = DispatchStats()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._room = asyncio.Event()
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._running = False
        policy_ = self.policy
        self._low_water = max(1, min(policy_.batch_size, policy_.max_in_flight) // 4)
        self._results: WriteBatcher[SubmitOutcome] = WriteBatcher(
            db,
            self._write_results,
            name="results",
            max_batch=policy_.result_batch,
            retry_failed=True,
            linger=policy_.linger,
        )
        self._journal = journal
        self._recovered: Recovered | None = None
        self._submits = submit_journal
        # Journaled receipts are acknowledged already: their write must be retried until it succeeds.
        self._receipts: WriteBatcher[ReceiptIn] = WriteBatcher(
            db,
            self._write_receipts,
            name="receipts",
            max_batch=policy_.inflow_batch,
            retry_failed=journal is not None,
            linger=policy_.linger if journal is not None else 0.0,
            urgent=True,  # on their way to customers, ahead of claims and submit results
        )
        self._replies: WriteBatcher[InboundIn] = WriteBatcher(
            db, self._write_replies, name="replies", max_batch=policy_.inflow_batch, urgent=True
        )
        connectors.on_report = self._on_report
        connectors.on_inbound = self._on_inbound

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Start the connectors and dispatch until stop() is called."""
        if self._running:
            raise RuntimeError("the dispatcher is already running")
        self._running = True
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._stopped.clear()
        for batcher in self._batchers:
            batcher.start()
        housekeeping: asyncio.Task[None] | None = None
        try:
            if self._journal is not None:
                self._recovered = self._journal.recover()
                await self._store_recovered()
            if self._submits is not None:
                await self._give_back_dead()
                if self._submits.mirror is not None:
                    await self._submits.mirror.start(self.owner)
                self._submits.open(self.owner)
            await self.connectors.start()
            housekeeping = asyncio.get_running_loop().create_task(self._housekeeping(), name="housekeeping")
            await self._claim_loop()
        finally:
            if housekeeping is not None:
                housekeeping.cancel()
                await asyncio.gather(housekeeping, return_exceptions=True)
            await self._drain()
            self._running = False
            self._stopped.set()

    async def stop(self) -> None:
        """Stop claiming, let in-flight submits finish (up to the policy's grace), stop the links,
        store every outcome, receipt and reply received, give back what is left."""
        self._stop.set()
        if self._running:
            await self._stopped.wait()

    @property
    def _batchers(self) -> tuple[WriteBatcher[Any], ...]:
        return (self._results, self._receipts, self._replies)

    async def _drain(self) -> None:
        grace = self.policy.stop_grace
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace)
        await self.connectors.stop()  # what still waits on a link gets its answer now
        if self._in_flight:
            _, pending = await asyncio.wait(list(self._in_flight.values()), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for batcher in self._batchers:
            await batcher.close()
        if self._journal is not None:
            self._journal.close()
        if self._submits is not None:
            own = self._submits.close()
            given = own is None or await self._give_back(own, "this dispatcher, stopping")
            if self._submits.mirror is not None:
                # Not given back: the record stays for a survivor on another machine.
                await self._submits.mirror.stop(forget=given)
        try:
            released = await self._db.write(release_leases, self.owner, self._now())
        except Exception:
            log.exception("could not give back this dispatcher's claims; their leases will run out")
        else:
            if released:
                log.info("gave back %d claimed messages", released)

    # -- claiming -------------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        policy = self.policy
        while not self._stop.is_set():
            room = policy.max_in_flight - len(self._in_flight)
            if room < self._low_water:
                self._room.clear()
                await _first_of(self._room, self._stop)
                continue
            wanted = min(room, policy.batch_size)
            self.wake.clear()
            try:
                batch = await self._db.write(
                    claim,
                    self.owner,
                    self._now(),
                    wanted,
                    policy.lease_seconds,
                    policy.max_ages,
                    self.connectors.claimable(),
                )
            except Exception:
                log.exception("claiming messages failed")
                batch = []
            self._stats.claimed += len(batch)
            # One route lookup per carrier and batch: link health does not change message by message.
            routes = {carrier: self.connectors.route(carrier) for carrier in {m.carrier for m in batch}}
            for message in batch:
                self._start(message, routes[message.carrier])
            if len(batch) == wanted:
                continue  # probably more are due
            await _first_of(self.wake, self._stop, within=policy.poll_interval)

    def _start(self, message: ClaimedMessage, links: Sequence[Connector]) -> None:
        if self._submits is not None:
            self._submits.begin(message.id, message.attempts)
        task = asyncio.get_running_loop().create_task(self._dispatch(message, links))
        self._in_flight[message.id] = task

    async def _dispatch(self, message: ClaimedMessage, links: Sequence[Connector]) -> None:
        try:
            try:
                outcome = await submit_message(message, links, self.policy, self._clock, self._submits)
            except Exception:
                log.exception("submitting message %d failed", message.id)
                outcome = later(message, self.policy, self._clock, "internal error", None)
            try:
                await self._results.submit(outcome)
            except Exception:
                # Only when the dispatcher stops with the store unreachable: its journal (or else its
                # lease running out) gives the message back.
                log.warning("result of message %d not stored", message.id)
            else:
                if self._submits is not None:
                    self._submits.settle(message.id)
        finally:
            self._in_flight.pop(message.id, None)
            if self.policy.max_in_flight - len(self._in_flight) >= self._low_water:
                self._room.set()

    # -- housekeeping ---------------------------------------------------------------------------

    async def _give_back_dead(self) -> None:
        """Give back the claims of dispatchers that died, by their journals; a journal whose claims
        could not be given back stays for the next round (its owner's leases are not requeued)."""
        assert self._submits is not None
        try:
            dead = await asyncio.get_running_loop().run_in_executor(None, self._submits.take_dead)
        except OSError:
            log.exception("reading the submit journals of dead dispatchers failed")
            return
        for journal in dead:
            if await self._give_back(journal, f"{journal.claims.owner}, which died"):
                await self._forget_record(journal.claims.owner)

    async def _forget_record(self, owner: str) -> None:
        """The mirror in Redis of a journal given back here (a survivor elsewhere would find nothing
        left to do by it, but need not try)."""
        assert self._submits is not None
        if self._submits.mirror is not None:
            # Else it expires, or a survivor gives back nothing by it.
            with contextlib.suppress(SharedUnavailable):
                await self._submits.mirror.forget(owner)

    async def _give_back_recorded(self, local: set[str]) -> set[str]:
        """Give back the claims of dispatchers of other machines that died, by their journals as
        mirrored to Redis; returns the owners with a record there (their expired leases are not for a
        blind requeue), or none when Redis cannot be read (they are requeued blindly then)."""
        assert self._submits is not None
        records = self._submits.mirror
        if records is None:
            return set()
        try:
            owners = await records.owners()
            silent = await records.silent(owners - local - {self.owner})
        except SharedUnavailable:
            return set()
        if not silent:
            return owners
        try:
            alive = await self._db.read(reported_since, silent, live_since(self._now()))
        except Exception:
            log.exception("reading which dispatchers reported lately failed")
            return owners
        for owner in sorted(set(silent) - alive):
            try:
                record = await records.take(owner, self.owner)
            except SharedUnavailable:
                return owners
            if record is None:
                owners.discard(owner)  # another survivor's, or expired: its leases say the rest
                continue
            journal = DeadJournal(claims_of_record(record), [], [])
            if await self._give_back(
                journal, f"{owner}, which died on another machine (its journal's copy in redis)"
            ):
                await self._forget_record(owner)
                owners.discard(owner)
            else:
                with contextlib.suppress(SharedUnavailable):
                    await records.release(owner)
        return owners

    async def _give_back(self, journal: DeadJournal, whose: str) -> bool:
        """Whether the claims `journal` tells of were given back (else it is left for another try)."""
        try:
            given: GivenBack = await self._db.write(give_back_claims, journal.claims, self._now())
        except Exception:
            log.exception("giving back the claims of %s failed; trying again later", whose)
            journal.release()
            return False
        journal.forget()
        self._stats.requeued += given.unsent + given.maybe_sent
        self._stats.recovered += given.submitted
        if given.submitted or given.unsent or given.maybe_sent:
            log.warning(
                "gave back the claims of %s; by its journal: %d answered (recorded as submitted),"
                " %d never sent (queued again), %d possibly sent (queued again, counted)",
                whose,
                given.submitted,
                given.unsent,
                given.maybe_sent,
            )
        if given.unsent or given.maybe_sent:
            self.wake.set()
        return True

    async def _store_recovered(self) -> None:
        """Store what a dead dispatcher journaled; on failure, try again at the next housekeeping."""
        recovered = self._recovered
        if recovered is None:
            return
        try:
            for start in range(0, len(recovered.receipts), self.policy.inflow_batch):
                chunk = recovered.receipts[start : start + self.policy.inflow_batch]
                await self._db.write(self._write_receipts, chunk)
        except Exception:
            log.exception("storing recovered receipts failed; trying again later")
            return
        recovered.forget()
        self._recovered = None

    async def _housekeeping(self) -> None:
        policy = self.policy
        last_purge = last_prune = last_timeouts = 0.0
        behind = False  # the last receipt-timeout sweep was full: more are overdue
        while True:
            await asyncio.sleep(policy.housekeeping_interval)
            now = self._now()
            purge_before = None
            if now - last_purge >= _PURGE_EVERY:
                purge_before, last_purge = now - policy.unmatched_receipt_ttl, now
            prune = now - last_prune >= _PRUNE_EVERY
            if prune:
                last_prune = now
            lease_until = now + policy.lease_seconds if self._in_flight else None
            keep: list[str] = []
            if self._submits is not None:
                # Before any lease is requeued: a dead process's journal tells what became of its claims.
                await self._give_back_dead()
                local = self._submits.local_owners()
                keep = sorted(local | await self._give_back_recorded(local))
            try:
                chores = await self._db.write(
                    _housekeep, self.owner, now, lease_until, purge_before, prune, keep
                )
            except Exception:
                log.exception("housekeeping failed")
            else:
                self._stats.requeued += chores.requeued
                self._stats.receipts += chores.rematched
                self._stats.finished += chores.finished
                if chores.requeued:
                    log.warning("gave back %d messages claimed by a dispatcher that died", chores.requeued)
                    self.wake.set()
            if behind or now - last_timeouts >= _TIMEOUTS_EVERY:
                last_timeouts = now
                behind = await self._time_out_receipts(now)
            if self._recovered is not None:
                await self._store_recovered()
            try:
                await self.connectors.refresh()
            except Exception:
                log.exception("reloading the connector configuration failed")

    async def _time_out_receipts(self, now: int) -> bool:
        """End the messages whose report is overdue; True when there may be more."""
        try:
            ended = await self._db.write(self._write_time_outs, now, self.policy.receipt_timeout)
        except Exception:
            log.exception("ending messages whose status report never came failed")
            return False
        self._stats.timed_out += ended
        if ended:
            log.info("%d messages got no status report in time: reported UNKNOWN", ended)
        return ended >= expiry.BATCH

    # -- writes (run on the store's writer thread) ----------------------------------------------

    def _now(self) -> int:
        return int(self._clock())

    def _write_time_outs(self, conn: sa.Connection, now: int, receipt_timeout: int) -> int:
        ended = expiry.time_out_receipts(conn, now, receipt_timeout)
        if ended:
            self._wake_callbacks(conn)
        return ended

    def _write_results(self, conn: sa.Connection, outcomes: Sequence[SubmitOutcome]) -> None:
        summary: RecordSummary = record_results(conn, self.owner, outcomes, self._now())
        stats = self._stats
        stats.submitted += summary.submitted
        stats.retried += summary.retried
        stats.failed += summary.failed
        stats.receipts += summary.early_receipts
        stats.finished += summary.finished
        if summary.finished:
            self._wake_callbacks(conn)

    def _write_receipts(self, conn: sa.Connection, receipts: Sequence[ReceiptIn]) -> None:
        summary: ReceiptSummary = apply_receipts(conn, receipts, self._now())
        stats = self._stats
        stats.receipts += summary.applied
        stats.duplicate_receipts += summary.duplicates
        stats.unmatched_receipts += summary.unmatched
        stats.finished += summary.finished
        if summary.finished:
            self._wake_callbacks(conn)

    def _write_replies(self, conn: sa.Connection, replies: Sequence[InboundIn]) -> None:
        stored: list[StoredReply] = store_inbound(conn, replies, self._now())
        self._stats.replies += len(stored)
        if stored:
            self._wake_callbacks(conn)

    def _wake_callbacks(self, conn: sa.Connection) -> None:
        """From the writer thread, inside the transaction that made callbacks due. A NOTIFY in it is
        delivered once it commits: sent after it instead, it could reach another node's callback worker
        before the rows are there to claim. Here, the loop's own thread tells the callback worker (its
        claim goes through the same writer, after this commit)."""
        if self._callbacks_channel is not None:
            notify_in(conn, self._callbacks_channel)
        if self._on_callbacks_due is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_callbacks_due)

    # -- from the connectors --------------------------------------------------------------------

    def _on_report(self, report: DeliveryReport) -> Awaitable[None]:
        """The connector acknowledges the receipt to its SMSC when the returned awaitable is done."""
        # Its connector and number pick its part: message ids are unique per SMSC at best.
        receipt = ReceiptIn(report.connector, report.remote_id, report.stat, report.err, report.destination)
        if self._journal is None:
            return self._receipts.submit(receipt)
        return self._journal_receipt(self._journal, receipt)

    async def _journal_receipt(self, journal: ReceiptJournal, receipt: ReceiptIn) -> None:
        stored = await journal.append(receipt)

        def committed(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and future.exception() is None:
                stored()  # else it stays in the journal, for the next start

        self._receipts.submit(receipt).add_done_callback(committed)

    def _on_inbound(self, sms: InboundSms) -> Awaitable[None]:
        source_number = self.connectors.source_number(sms.connector)
        return self._replies.submit(
            InboundIn(sms.connector, source_number, sms.source, sms.destination, sms.text)
        )

    # -- introspection --------------------------------------------------------------------------

    def stats(self) -> DispatchStats:
        return replace(self._stats, in_flight=len(self._in_flight))

    def connector_stats(self) -> dict[str, ConnectorStats]:
        return self.connectors.stats()


async def _first_of(*events: asyncio.Event, within: float | None = None) -> None:
    """Wait until any of `events` is set, or `within` seconds passed."""
    if any(event.is_set() for event in events):
        return
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
