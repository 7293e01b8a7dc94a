"""A dispatch process's submit journal, mirrored to Redis: a survivor on another machine reads it.

The submit journal (dispatch/submit_journal.py) lets a dispatcher that died cost duplicates only for
the submits that awaited their answers, but only to a process that can read its files: one of the same
machine. Scaled out, the survivor is often on another machine; told only by the database, it would
requeue the dead process's claims blindly once their leases ran out (30 s), and send again those the
SMSC had answered but whose results were not committed yet (hundreds of a 2,000 batch, measured). So
each dispatch process writes the journal's bytes to Redis too, and a survivor anywhere gives back the
dead process's claims by them (`store.claims.give_back_claims`), as it would by the files.

Why a connection of its own, written synchronously: the journal's promise is that a line reaches the
kernel before the frame it tells of reaches the socket, so that whatever the SMSC may have received is
on record even after a SIGKILL. A redis-py call would hand its bytes to the socket a loop turn (or
two) later, after the frames. Here each flush of the journal is one `APPEND` written to this
connection's transport at once, before the session writes its frames: one `send` per batch of
frames, never a round trip per message, and nothing awaits Redis on the dispatch path. The replies
are read as they come only to notice errors.

Layout, under the platform's prefix: `submits:owners`, the set of owners with a record;
`submits:segments:<owner>`, the set of its segments' numbers; `submits:segment:<owner>:<n>`, a
string holding segment n's lines exactly as the file holds them (header first), deleted with the file
once every message it tells of has its result committed; `submits:alive:<owner>`, renewed every
second, gone `ALIVE_SECONDS` after the process stopped renewing it. A record left by a process nobody
gives back expires `RECORD_SECONDS` after its last renewal.

When is an owner dead: its alive key is gone AND it has not reported its links to the database for
`store.connectors.LIVE_WITHIN` seconds (every dispatch process does, every 5 s; see `connector list`).
Either alone could take a live process for a dead one: a node cut off from Redis (or a Redis that
restarted) stops renewing its key while it still sends; a process without links reports nothing.
A process frozen longer than both (a paused VM) is taken for dead, as its leases would take it 30 s
after it froze; its answers that come after are still recorded (`store.results`).
A survivor acts on that within about 15 s of a death, half the claim lease, and takes the owner's
record under a short lock (`submits:taking:<owner>`), so that two survivors do not both give it back
(a second give-back would find nothing left to do, but need not run).

Whether a record is whole (a claim it does not name never left): every segment's header names the
Redis it was written to (its `run_id`: one that restarted may have lost lines), and a process whose
lines could not be written (Redis down, an error reply) appends a line saying lines are missing once
Redis takes writes again. A record that is not whole counts every unanswered claim as possibly sent.
What stays unseen: lines the kernel still held when the machine itself died (a power cut loses what a
round trip to Redis had not delivered), and lines held in this process while Redis did not read fast
enough for its socket buffers; a crash then may count a claim as unsent that had left, as a journal
write that failed does.

When Redis is down: the writer drops lines (and says so when Redis is back), survivors cannot read
records; the claims of an owner whose record cannot be read come back as before, once their leases run
out, each counted as possibly sent. Nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from redis.asyncio.connection import parse_url

from smsplatform.cluster.shared import CONNECT_TIMEOUT, SharedState
from smsplatform.store.connectors import LIVE_WITHIN
from smsplatform.store.schema import connector_stats

log = logging.getLogger(__name__)

# Seconds an owner's alive key outlives its last renewal (renewed every `HEARTBEAT_SECONDS`).
ALIVE_SECONDS = 10.0
HEARTBEAT_SECONDS = 1.0
# Seconds a record outlives its owner's last renewal, when nobody gives it back.
RECORD_SECONDS = 3600
# Seconds a survivor holds an owner's record while it gives back its claims.
TAKE_SECONDS = 60
# The line a record gets where lines are missing (the journal's reader then takes it as not whole).
MISSING_LINE = b"X\tlines missing: redis was unreachable or refused them\n"


def _command(*args: bytes) -> bytes:
    """One command in Redis's protocol (RESP)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts += (b"$%d\r\n" % len(arg), arg, b"\r\n")
    return b"".join(parts)


class _Replies(asyncio.Protocol):
    """The mirror's connection: writes go out as they are made, replies are read for their errors.

    Every command the mirror sends answers with one line (+OK, :n or -error), never a bulk reply."""

    def __init__(self, records: SubmitRecords) -> None:
        self._records = records
        self._pending = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not asyncio's class

    def data_received(self, data: bytes) -> None:
        lines = (self._pending + data).split(b"\r\n")
        self._pending = lines.pop()
        for line in lines:
            if line[:1] == b"-":
                self._records._refused(line[1:].decode(errors="replace"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._records._lost(self, exc)


@dataclass(frozen=True, slots=True)
class Record:
    """A dead owner's record, taken by this process until `forget` or `release`."""

    owner: str
    segments: list[bytes]  # each segment's lines, in the order they were written
    boot: str  # the Redis it is read from: a segment headed with another may have lost lines
    whole: bool  # False when a segment the record names is gone


class SubmitRecords:
    """See the module docstring. One per dispatch process: `start` before the journal opens, the
    write side (`opened`, `appended`, `dropped`) from the event loop, `stop` at the end; the read side
    (`owners`, `silent`, `take`, `forget`, `release`) through the node's shared connection."""

    def __init__(
        self,
        shared: SharedState,
        *,
        alive_seconds: float = ALIVE_SECONDS,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        record_seconds: int = RECORD_SECONDS,
    ) -> None:
        self._shared = shared
        self._alive_ms = b"%d" % int(alive_seconds * 1000)
        self._heartbeat = heartbeat_seconds
        self._record_ms = b"%d" % (record_seconds * 1000)
        self._record_seconds = record_seconds
        self.owner = ""
        self.boot = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wire: _Replies | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._live: set[int] = set()
        self._stale: set[int] = set()  # segments dropped while Redis could not be told
        self._missing = False  # lines were dropped or refused: the record says so once it can
        self._said_refused = False
        self._renewed_at = 0.0
        self._stopped = False
        self._keys: dict[int, bytes] = {}
        self._owners_key = shared.key("submits", "owners").encode()
        self._segments_key = b""
        self._alive_key = b""

    # -- the writing side -------------------------------------------------------------------------

    async def start(self, owner: str) -> None:
        """Connect for `owner` (when Redis answers: else lines are dropped until it does, and the
        record then says lines are missing) and start renewing its alive key."""
        self.owner = owner
        self._loop = asyncio.get_running_loop()
        self._segments_key = self._shared.key("submits", "segments", owner).encode()
        self._alive_key = self._shared.key("submits", "alive", owner).encode()
        await self._connect()
        self._timer = self._loop.call_later(self._heartbeat, self._beat)

    def segment_key(self, number: int) -> bytes:
        key = self._keys.get(number)
        if key is None:
            key = self._keys[number] = self._shared.key("submits", "segment", self.owner, number).encode()
        return key

    def opened(self, number: int, header: bytes) -> None:
        """Segment `number` begins, with its header line (which names `self.boot`)."""
        self._live.add(number)
        key = self.segment_key(number)
        self._write(
            _command(b"SADD", self._segments_key, b"%d" % number)
            + _command(b"APPEND", key, header)
            + _command(b"PEXPIRE", key, self._record_ms)
            + _command(b"PEXPIRE", self._segments_key, self._record_ms)
        )

    def appended(self, number: int, data: bytes) -> None:
        """Lines for segment `number`: written now, before the frames they tell of."""
        key = self.segment_key(number)
        self._write(b"*3\r\n$6\r\nAPPEND\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(data), data))

    def dropped(self, number: int) -> None:
        """Segment `number` is no longer needed (every message it tells of has its result committed)."""
        self._live.discard(number)
        key = self.segment_key(number)
        del self._keys[number]
        if not self._write(_command(b"DEL", key) + _command(b"SREM", self._segments_key, b"%d" % number)):
            self._stale.add(number)

    async def stop(self, *, forget: bool) -> None:
        """Stop writing; with `forget`, delete this owner's record (its claims were given back)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        if self._connecting is not None:
            self._connecting.cancel()
            await asyncio.gather(self._connecting, return_exceptions=True)
        wire, self._wire = self._wire, None
        if wire is not None and wire.transport is not None:
            wire.transport.close()
        if forget and self.owner:
            with contextlib.suppress(Exception):
                await self.forget(self.owner)

    # -- inside the writing side ------------------------------------------------------------------

    def _write(self, data: bytes) -> bool:
        wire = self._wire
        if wire is None or wire.transport is None:
            self._missing = True
            return False
        wire.transport.write(data)
        return True

    async def _connect(self) -> None:
        params: dict[str, Any] = dict(parse_url(self._shared.url))
        loop = asyncio.get_running_loop()
        try:
            info = await self._shared.call(lambda client: client.info("server"))
            self.boot = f"redis:{info.get('run_id', '')}"
            if "path" in params:
                connecting = loop.create_unix_connection(lambda: _Replies(self), params["path"])
            else:
                tls = ssl.create_default_context() if "connection_class" in params else None
                connecting = loop.create_connection(
                    lambda: _Replies(self), params.get("host", "localhost"), params.get("port", 6379), ssl=tls
                )
            _, wire = await asyncio.wait_for(connecting, CONNECT_TIMEOUT)
        except Exception as error:  # SharedUnavailable, or the connection itself
            log.warning("the submit journal's copy in redis is off until redis answers: %s", error)
            return
        assert isinstance(wire, _Replies)
        self._wire = wire
        hello = b""
        if params.get("password"):
            user = params.get("username")
            auth = (str(user).encode(),) if user else ()
            hello += _command(b"AUTH", *auth, str(params["password"]).encode())
        if params.get("db"):
            hello += _command(b"SELECT", str(params["db"]).encode())
        self._write(hello + _command(b"SADD", self._owners_key, self.owner.encode()))
        if self._missing:  # reconnected: before any line that follows, the record says lines are missing
            self._repair()
        self._renew()

    def _beat(self) -> None:
        """Every `heartbeat` seconds: the alive key renewed, a lost connection made again, missing
        lines said, and now and then the record's expiry pushed back."""
        if self._stopped or self._loop is None:
            return
        self._timer = self._loop.call_later(self._heartbeat, self._beat)
        if self._wire is None:
            if self._connecting is None or self._connecting.done():
                self._connecting = self._loop.create_task(self._connect())
            return
        if self._missing:
            self._repair()
            self._renew()
        elif self._loop.time() - self._renewed_at >= self._record_seconds / 4:
            self._renew()
        self._write(_command(b"SET", self._alive_key, b"1", b"PX", self._alive_ms))

    def _repair(self) -> None:
        """Lines were lost (dropped while disconnected, or refused): each live segment says so."""
        self._missing = False
        repair = _command(b"SADD", self._owners_key, self.owner.encode())
        for number in sorted(self._stale):  # dropped meanwhile: settled, nothing to tell
            repair += _command(b"DEL", self.segment_key(number))
            repair += _command(b"SREM", self._segments_key, b"%d" % number)
            del self._keys[number]
        self._stale.clear()
        for number in sorted(self._live):
            repair += _command(b"SADD", self._segments_key, b"%d" % number)
            repair += _command(b"APPEND", self.segment_key(number), MISSING_LINE)
        self._write(repair)

    def _renew(self) -> None:
        assert self._loop is not None
        self._renewed_at = self._loop.time()
        renew = _command(b"SET", self._alive_key, b"1", b"PX", self._alive_ms)
        renew += _command(b"PEXPIRE", self._segments_key, self._record_ms)
        for number in self._live:
            renew += _command(b"PEXPIRE", self.segment_key(number), self._record_ms)
        self._write(renew)

    def _refused(self, error: str) -> None:
        self._missing = True
        if not self._said_refused:
            self._said_refused = True
            log.error("redis refused the submit journal's lines (%s): they are marked as missing", error)

    def _lost(self, wire: _Replies, error: Exception | None) -> None:
        if wire is not self._wire:
            return
        self._wire = None
        if not self._stopped:
            self._missing = True
            log.warning("the submit journal's connection to redis was lost (%s): reconnecting", error)

    # -- the reading side (a survivor's) ----------------------------------------------------------

    async def owners(self) -> set[str]:
        """Owners with a record, alive or dead: their claims' expired leases are not for a blind
        requeue. Raises SharedUnavailable."""
        members = await self._shared.call(lambda client: client.smembers(self._owners_key))
        return {_text(member) for member in members}

    async def silent(self, owners: Iterable[str]) -> list[str]:
        """Of `owners`, those whose alive key is gone. Raises SharedUnavailable."""
        listed = sorted(owners)
        if not listed:
            return []

        async def exists(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for owner in listed:
                pipe.exists(self._shared.key("submits", "alive", owner))
            return list(await pipe.execute())

        found = await self._shared.call(exists)
        return [owner for owner, alive in zip(listed, found, strict=True) if not int(alive)]

    async def take(self, owner: str, taker: str) -> Record | None:
        """`owner`'s record, locked for `taker`; None when another survivor holds it, or when there
        is no record left to read (expired: the owner is then dropped from the owners, and its claims
        come back as their leases run out). Raises SharedUnavailable."""
        lock = self._shared.key("submits", "taking", owner)
        taken = await self._shared.call(
            lambda client: client.set(lock, taker, nx=True, px=TAKE_SECONDS * 1000)
        )
        if not taken:
            return None
        segments_key = self._shared.key("submits", "segments", owner)
        numbers = sorted(
            int(n) for n in await self._shared.call(lambda client: client.smembers(segments_key))
        )
        if not numbers:
            await self.forget(owner)
            return None
        keys = [self._shared.key("submits", "segment", owner, n) for n in numbers]
        datas = await self._shared.call(lambda client: client.mget(keys))
        info = await self._shared.call(lambda client: client.info("server"))
        segments = [data if isinstance(data, bytes) else data.encode() for data in datas if data is not None]
        return Record(owner, segments, f"redis:{info.get('run_id', '')}", whole=len(segments) == len(keys))

    async def forget(self, owner: str) -> None:
        """Delete `owner`'s record (its claims were given back). Raises SharedUnavailable."""
        segments_key = self._shared.key("submits", "segments", owner)

        async def delete(client: Any) -> None:
            numbers = await client.smembers(segments_key)
            pipe = client.pipeline(transaction=False)
            for number in numbers:
                pipe.delete(self._shared.key("submits", "segment", owner, _text(number)))
            pipe.delete(segments_key, self._shared.key("submits", "alive", owner))
            pipe.srem(self._owners_key, owner)
            pipe.delete(self._shared.key("submits", "taking", owner))
            await pipe.execute()

        await self._shared.call(delete)

    async def release(self, owner: str) -> None:
        """Leave `owner`'s record for another try. Raises SharedUnavailable."""
        lock = self._shared.key("submits", "taking", owner)
        await self._shared.call(lambda client: client.delete(lock))


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def reported_since(conn: sa.Connection, owners: Iterable[str], since: int) -> set[str]:
    """Of `owners` (dispatch processes), those that reported their links to the database at `since`
    or later: alive, whatever Redis says."""
    listed = sorted(owners)
    if not listed:
        return set()
    table = connector_stats
    rows = conn.execute(
        sa.select(table.c.process).where(table.c.process.in_(listed), table.c.updated_at >= since).distinct()
    )
    return {row[0] for row in rows}


def live_since(now: int) -> int:
    """The earliest report that still shows a process alive at `now`."""
    return now - LIVE_WITHIN
