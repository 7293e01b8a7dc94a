"""A per-process journal of submits: what went on the wire, and what the SMSC answered.

A dispatcher holds up to `max_in_flight` claimed messages whose results are not yet committed. Told
only by the database, a crash would have to count every one of them as possibly sent, and send it
again. Told by this journal, the claims of a dispatcher that died are given back knowing, for each:

- answered with the SMSC's ids (every segment): recorded as submitted, never sent again;
- never written to a socket, or refused by the SMSC: queued again, not counted as possibly sent;
- written and not (wholly) answered: possibly sent, counted in `maybe_sent`, and sent again. These
  are the only duplicates: at most the submits that filled the links' windows at the crash.

A line reaches the kernel before the frame it tells of reaches the socket (a session flushes this
journal before it writes; see connectors/session.py's WireLog), so it outlives a SIGKILL; fsyncs follow
in batches, off the event loop, for a machine that loses power. Each segment names the boot it was
written in: after a reboot, lines not yet fsynced may be gone, so a claim the journal does not name
is then counted as possibly sent (answers on record still count). The hot path costs a formatted line
per segment and per answer, and one `write` per batch of frames, never a database round trip.

Layout: segment files `submits-<owner, hex>-<pid>-<n>.journal`, each held under an exclusive `flock`
by the process writing it, and deleted once every message it tells of has its result committed. A
segment whose lock is free belongs to a process that died: a dispatcher sharing the directory takes
all of that owner's segments or none (it must see the whole record), and gives back the owner's
claims by them (`store.claims.give_back_claims`), which is why expired leases of an owner with
segments here are never requeued blindly.

Scaled out (`redis_url` set), a survivor is often on another machine, and cannot read these files: the
journal is then mirrored, segment for segment and flush for flush, to Redis (`mirror`, a
cluster.submit_records.SubmitRecords; see there why it is written synchronously, and when an owner
counts as dead), and `claims_of_record` reads it back with the very reader the files go through.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from smsplatform.cluster.submit_records import Record, SubmitRecords
from smsplatform.connectors.adapter import SegmentAnswer
from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store.claims import JournaledClaims

log = logging.getLogger(__name__)

PREFIX = "submits"
SUFFIX = ".journal"
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def boot_id() -> str:
    """This machine's boot, where the system tells it ("" where it does not: no journal is trusted to
    be whole across a reboot then)."""
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _escape(text: str) -> bytes:
    """A field that can hold neither a tab nor a line break, read back by `_unescape`."""
    return text.encode("unicode_escape")


def _unescape(raw: bytes) -> str:
    return raw.decode("unicode_escape")


@dataclass(eq=False, slots=True)
class _Segment:
    path: Path
    fd: int
    opened_at: float
    number: int
    open: int = 0  # messages with lines here whose results are not committed yet


@dataclass(slots=True)
class _Entry:
    """A claim in flight: its attempt (the claim's), and the segments holding lines about it."""

    attempt: int
    segments: list[_Segment] = field(default_factory=list)


@dataclass(slots=True)
class _Sent:
    """One attempt's submit over one connector, as the journal tells it."""

    segments: int
    written: set[int] = field(default_factory=set)
    answers: dict[int, str | None] = field(default_factory=dict)  # segment → remote id (None: refused)


@dataclass(slots=True)
class _Found:
    attempt: int
    by_connector: dict[str, _Sent] = field(default_factory=dict)


@dataclass
class DeadJournal:
    """A dead dispatcher's segments, locked by this process until `forget()` or `release()`."""

    claims: JournaledClaims
    paths: list[Path]
    fds: list[int]

    def forget(self) -> None:
        """Its claims were given back: delete the segments."""
        for path in self.paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self.release()

    def release(self) -> None:
        """Leave the segments for another try (the claims could not be given back)."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds = []


def _owner_tag(owner: str) -> str:
    return owner.encode().hex()


def _owner_of(path: Path) -> str | None:
    """The owner a segment's name tells, or None for a name this journal did not write."""
    parts = path.name[len(PREFIX) + 1 : -len(SUFFIX)].split("-")
    if len(parts) != 3:
        return None
    try:
        return bytes.fromhex(parts[0]).decode()
    except ValueError:
        return None


def _order(path: Path) -> tuple[str, int, int]:
    tag, pid, number = path.name[len(PREFIX) + 1 : -len(SUFFIX)].split("-")
    return tag, int(pid), int(number)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _remove_unlocked(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        if _try_lock(fd):
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)


# A live process renames its staging segment microseconds after creating it; one this old is a crash's.
STALE_STAGING_SECONDS = 60.0


def _remove_stale_staging(path: Path) -> None:
    """Removes a staging segment left by a crash. Not a young one: it is created before it is locked, so
    in that instant it is unlocked and still its live process's, which renames it next."""
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return
    if age >= STALE_STAGING_SECONDS:
        _remove_unlocked(path)


def _fsync(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):  # a segment deleted meanwhile: nothing left to keep
            os.fsync(fd)


class SubmitJournal:
    """See the module docstring. One per dispatcher, used from its event loop only (but `take_dead`,
    which touches only dead processes' files, may run in a worker thread)."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_seconds: float = 5.0,
        sync_delay: float = 0.1,  # between fsyncs; a power cut loses at most that, counted as possibly sent
        clock: Callable[[], float] = time.monotonic,
        boot: str | None = None,
        mirror: SubmitRecords | None = None,
    ) -> None:
        self.directory = directory
        # Scaled out: the same lines in Redis, for a survivor on another machine (started by the
        # dispatcher before `open`, stopped after `close`).
        self.mirror = mirror
        self._segment_seconds = segment_seconds
        self._sync_delay = sync_delay
        self._clock = clock
        self._boot = boot_id() if boot is None else boot
        self.owner = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._segment: _Segment | None = None
        self._segments: list[_Segment] = []
        self._counter = 0
        self._entries: dict[int, _Entry] = {}
        self._lines: list[bytes] = []
        self._flush_due = False
        self._unsynced: set[_Segment] = set()
        self._syncing = False
        self._names: dict[str, bytes] = {}
        self._write_failed = False

    # -- start and stop -------------------------------------------------------------------------

    def open(self, owner: str) -> None:
        """Start journaling for `owner` (after the dead processes' segments were taken)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.owner = owner
        self._loop = asyncio.get_running_loop()
        self._segment = self._new_segment()

    def close(self) -> DeadJournal | None:
        """Stop journaling. Returns this process's record as a dead process's would be read (None
        when it was never opened), for the caller to give back the claims still held, then
        `forget()` it: a claim it does not name never left."""
        if self._segment is None:
            return None
        self.flush()
        self._segment = None
        kept = [segment for segment in self._segments if segment.open > 0]
        for segment in [segment for segment in self._segments if segment.open <= 0]:
            self._drop(segment)
        self._segments = []
        self._entries.clear()
        self._unsynced.clear()
        paths = [segment.path for segment in kept]
        found, _ = _read(paths, self._boot)
        claims = _claims(self.owner, (found, True))  # its own: nothing it wrote is missing
        return DeadJournal(claims, paths, [segment.fd for segment in kept])

    # -- dead processes -------------------------------------------------------------------------

    def take_dead(self) -> list[DeadJournal]:
        """Lock and read the segments of every owner whose segments are all unlocked (its process
        died); each stays locked until the caller forgets or releases it."""
        if not self.directory.is_dir():
            return []
        for staging in self.directory.glob(f".{PREFIX}-*{SUFFIX}"):
            _remove_stale_staging(staging)  # a crash before the rename: a header, nothing else
        groups: dict[str, list[Path]] = defaultdict(list)
        for path in self.directory.glob(f"{PREFIX}-*{SUFFIX}"):
            owner = _owner_of(path)
            if owner is not None:
                groups[owner].append(path)
        taken: list[DeadJournal] = []
        for owner, paths in sorted(groups.items()):
            paths.sort(key=_order)  # one order for every taker: two never split an owner's segments
            fds: list[int] = []
            whole = True
            for path in paths:
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:  # forgotten meanwhile by whoever took it
                    whole = False
                    break
                fds.append(fd)
                if not _try_lock(fd):
                    whole = False
                    break
            if not whole:
                for fd in fds:
                    os.close(fd)
                continue
            taken.append(DeadJournal(_claims(owner, _read(paths, self._boot)), paths, fds))
        return taken

    def local_owners(self) -> set[str]:
        """Owners with segments here: alive, or dead and not yet given back. Their expired leases are
        not for requeueing: their journals tell what became of those claims."""
        if not self.directory.is_dir():
            return set()
        owners = {_owner_of(path) for path in self.directory.glob(f"{PREFIX}-*{SUFFIX}")}
        owners.discard(None)
        return {owner for owner in owners if owner is not None}

    # -- the flow -------------------------------------------------------------------------------

    def begin(self, message_id: int, attempt: int) -> None:
        """A claim starts: its lines carry `attempt`, so that an earlier claim's are told apart."""
        self._entries[message_id] = _Entry(attempt)

    def settle(self, message_id: int) -> None:
        """Its result is committed: its lines are no longer needed."""
        entry = self._entries.pop(message_id, None)
        if entry is None:
            return
        for segment in entry.segments:
            segment.open -= 1
            if segment.open <= 0 and segment is not self._segment:
                self._drop(segment)

    def written(self, connector: str, key: int, segment: int, segments: int) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            line = b"W\t%d\t%d\t%d\t%d\t%s\n" % (key, entry.attempt, segment, segments, self._name(connector))
            self._add(entry, line)

    def answered(self, connector: str, key: int, segment: int, answer: SegmentAnswer) -> None:
        entry = self._entries.get(key)
        if entry is not None:
            said = b"+" + _escape(answer.remote_id) if answer.ok else b"-" + _escape(answer.error)
            line = b"A\t%d\t%d\t%d\t%s\t%s\n" % (key, entry.attempt, segment, self._name(connector), said)
            self._add(entry, line)

    def flush(self) -> None:
        """Hand the lines so far to the kernel: from here they outlive this process."""
        self._flush_due = False
        segment = self._segment
        if not self._lines or segment is None:
            return
        data = b"".join(self._lines)
        if self.mirror is not None:
            self.mirror.appended(segment.number, data)
        try:
            while data:
                data = data[os.write(segment.fd, data) :]
        except OSError as error:
            # Kept for the next flush; a crash meanwhile may count a claim as unsent that had left.
            if not self._write_failed:
                log.error("cannot write the submit journal %s: %s", segment.path, error)
                self._write_failed = True
            self._lines = [data]
            return
        self._write_failed = False
        self._lines.clear()
        self._unsynced.add(segment)
        if not self._syncing and self._loop is not None:
            self._syncing = True
            self._loop.call_later(self._sync_delay, self._sync)

    @property
    def in_flight(self) -> int:
        """Claims begun and not settled."""
        return len(self._entries)

    # -- inside ---------------------------------------------------------------------------------

    def _name(self, connector: str) -> bytes:
        name = self._names.get(connector)
        if name is None:
            name = self._names[connector] = _escape(connector)
        return name

    def _add(self, entry: _Entry, line: bytes) -> None:
        if self._segment is None:
            return
        if not self._lines:  # the first line of a batch: one batch, one segment
            self._rotate_when_due()
            if not self._flush_due and self._loop is not None:
                # Answers get out even when no frame follows them.
                self._flush_due = True
                self._loop.call_soon(self.flush)
        segment = self._segment
        if not entry.segments or entry.segments[-1] is not segment:
            entry.segments.append(segment)
            segment.open += 1
        self._lines.append(line)

    def _rotate_when_due(self) -> None:
        segment = self._segment
        assert segment is not None
        if self._clock() - segment.opened_at < self._segment_seconds:
            return
        self._segment = self._new_segment()
        if segment.open <= 0:
            self._drop(segment)

    def _new_segment(self) -> _Segment:
        self._counter += 1
        name = f"{PREFIX}-{_owner_tag(self.owner)}-{os.getpid()}-{self._counter}{SUFFIX}"
        path = self.directory / name
        # Locked and headed under another name first: under its own, unlocked even for an instant,
        # another process would take it for a dead one's.
        staging = self.directory / f".{name}"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        _try_lock(fd)
        header = {"owner": self.owner, "boot": self._boot, "pid": os.getpid()}
        os.write(fd, b"H\t" + json.dumps(header).encode() + b"\n")
        staging.rename(path)
        segment = _Segment(path, fd, self._clock(), self._counter)
        self._segments.append(segment)
        if self.mirror is not None:
            header["boot"] = self.mirror.boot  # what tells whether Redis kept every line
            self.mirror.opened(segment.number, b"H\t" + json.dumps(header).encode() + b"\n")
        return segment

    def _drop(self, segment: _Segment) -> None:
        """Delete a segment nobody needs; unlinked before its lock goes, so no one takes it for dead."""
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        with contextlib.suppress(OSError):
            os.close(segment.fd)
        if self.mirror is not None:
            self.mirror.dropped(segment.number)
        self._unsynced.discard(segment)
        with contextlib.suppress(ValueError):
            self._segments.remove(segment)

    def _sync(self) -> None:
        fds = [segment.fd for segment in self._unsynced]
        self._unsynced.clear()
        if not fds or self._loop is None:
            self._syncing = False
            return
        done = self._loop.run_in_executor(None, _fsync, fds)
        done.add_done_callback(self._synced)

    def _synced(self, _: asyncio.Future[None]) -> None:
        if self._unsynced and self._loop is not None:
            self._loop.call_later(self._sync_delay, self._sync)
        else:
            self._syncing = False


# --- reading back ----------------------------------------------------------------------------------


def claims_of_record(record: Record) -> JournaledClaims:
    """What a dead owner's journal, as mirrored to Redis, says of its claims (see `_claims`)."""
    found, whole = _read_segments(record.segments, record.boot)
    return _claims(record.owner, (found, whole and record.whole))


def _read(paths: Iterable[Path], boot: str) -> tuple[dict[int, _Found], bool]:
    """Every message's latest attempt as the segments tell it, and whether they are whole (written
    in this boot, so that no line the process wrote is missing)."""
    datas: list[bytes] = []
    whole = True
    for path in paths:
        try:
            datas.append(path.read_bytes())
        except FileNotFoundError:
            whole = False
    found, read_whole = _read_segments(datas, boot)
    return found, whole and read_whole


def _read_segments(datas: Iterable[bytes], boot: str) -> tuple[dict[int, _Found], bool]:
    """`_read` of the segments' bytes; a segment's header names the boot (or the Redis) it was
    written in, and an `X` line says lines are missing before it."""
    found: dict[int, _Found] = {}
    whole = bool(boot)
    for data in datas:
        for line in data.split(b"\n"):
            fields = line.split(b"\t")
            try:
                kind = fields[0]
                if kind == b"H":
                    whole = whole and json.loads(fields[1]).get("boot") == boot
                elif kind == b"X":
                    whole = False
                elif kind == b"W" and len(fields) == 6:
                    key, attempt, number, total = map(int, fields[1:5])
                    sent = _sent(found, key, attempt, _unescape(fields[5]), total)
                    if sent is not None:
                        sent.written.add(number)
                elif kind == b"A" and len(fields) == 6:
                    key, attempt, number = map(int, fields[1:4])
                    said = fields[5]
                    sent = _sent(found, key, attempt, _unescape(fields[4]), None)
                    if sent is not None:
                        sent.written.add(number)
                        sent.answers[number] = _unescape(said[1:]) if said[:1] == b"+" else None
            except (ValueError, IndexError, UnicodeDecodeError):
                continue  # a line torn by the crash: its frame never left (the line goes first)
    return found, whole


def _sent(
    found: dict[int, _Found], key: int, attempt: int, connector: str, total: int | None
) -> _Sent | None:
    """The record of `key`'s submit over `connector` in `attempt`; None for an earlier attempt's line."""
    entry = found.get(key)
    if entry is None or entry.attempt < attempt:
        entry = found[key] = _Found(attempt)
    elif entry.attempt > attempt:
        return None
    sent = entry.by_connector.get(connector)
    if sent is None:
        sent = entry.by_connector[connector] = _Sent(total or 0)
    elif total is not None:
        sent.segments = total
    return sent


def _claims(owner: str, read: tuple[dict[int, _Found], bool]) -> JournaledClaims:
    """What the journal says of each message: answered in full, possibly sent, or (unnamed) unsent."""
    found, whole = read
    answered: dict[int, tuple[int, Submitted]] = {}
    on_the_wire: dict[int, int] = {}
    for key, entry in found.items():
        possibly_sent = False
        for connector, sent in entry.by_connector.items():
            answers = sent.answers
            ids = [answers.get(number) for number in range(1, sent.segments + 1)]
            if sent.segments and all(remote_id is not None for remote_id in ids):
                answered[key] = (entry.attempt, Submitted(key, connector, tuple(i or "" for i in ids)))
                break
            # Unanswered on the wire, or some segments taken: the SMSC may have (part of) it.
            if sent.written - answers.keys() or any(remote_id is not None for remote_id in answers.values()):
                possibly_sent = True
        else:
            if possibly_sent:
                on_the_wire[key] = entry.attempt
    return JournaledClaims(owner, answered, on_the_wire, complete=whole)
