"""A local write-ahead journal for receipts: acknowledge the SMSC after an fsync, store in big batches.

An SMSC sends a window of receipts (16 is common) and the next only after acknowledgements, so when
each acknowledgement waits for a database commit, receipts flow at window ÷ commit round trip: about
2,000 a second on SQLite with submits sharing the writer, whatever the hardware. The journal cuts
the round trip to one append and fsync of a small file, and lets the store take receipts in batches
of hundreds, which also costs it less per receipt.

The journal is exactly as durable as the database when both live on one disk (the embedded SQLite
setup); with PostgreSQL on another machine, a dispatcher whose disk is lost loses the receipts not
yet stored, which is why it is optional.

Layout: segment files `<prefix>-<pid>-<n>.journal` of JSON lines, each held under an exclusive
`flock` by the process writing it. A segment is closed after `segment_seconds` and deleted once
every receipt in it is stored. At start, every segment whose lock can be taken belongs to a process
that died: its receipts are read back (applying a receipt twice changes nothing) and it is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from smsplatform.store.receipts import ReceiptIn

log = logging.getLogger(__name__)

SUFFIX = ".journal"


@dataclass(eq=False)
class _Segment:
    path: Path
    file: IO[bytes]
    opened_at: float
    written: int = 0  # receipts fsynced into it
    stored: int = 0  # of those, receipts the store has committed
    closed: bool = False


@dataclass(frozen=True, slots=True)
class Recovered:
    """Receipts a dead process journaled; `forget()` once they are stored.

    Their segments stay locked until then, so that another process starting meanwhile does not read
    them back a second time.
    """

    receipts: list[ReceiptIn]
    paths: list[Path] = field(default_factory=list)
    files: list[IO[bytes]] = field(default_factory=list)

    def forget(self) -> None:
        for path in self.paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for file in self.files:
            file.close()


def _encode(receipt: ReceiptIn) -> bytes:
    line = {
        "c": receipt.connector,
        "r": receipt.remote_id,
        "s": receipt.stat,
        "e": receipt.err,
        "d": receipt.destination,
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _decode(lines: Iterator[bytes]) -> Iterator[ReceiptIn]:
    for line in lines:
        try:
            item = json.loads(line)
            # "d" (the number) is absent from lines an earlier version wrote.
            yield ReceiptIn(
                str(item["c"]), str(item["r"]), str(item["s"]), str(item["e"]), str(item.get("d", ""))
            )
        except (ValueError, KeyError, TypeError):
            # A line torn by a crash was never fsynced, hence never acknowledged: the SMSC resends it.
            continue


def _lock(file: IO[bytes]) -> bool:
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _append(file: IO[bytes], data: bytes) -> None:
    file.write(data)
    file.flush()
    os.fsync(file.fileno())


class ReceiptJournal:
    """See the module docstring. Not shared between event loops; one per dispatcher."""

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str = "receipts",
        segment_seconds: float = 2.0,
        max_unstored: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._prefix = prefix
        self._segment_seconds = segment_seconds
        self._max_unstored = max_unstored
        self._clock = clock
        self._segments: list[_Segment] = []
        self._counter = 0
        self._lines: list[bytes] = []
        self._waiting: list[tuple[asyncio.Future[_Segment], ReceiptIn]] = []
        self._flushing = False
        self._unstored = 0
        self._room = asyncio.Event()
        self._room.set()

    # -- start and stop -------------------------------------------------------------------------

    def recover(self) -> Recovered:
        """Read back the segments of processes that died (call once, before journaling anything)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        receipts: list[ReceiptIn] = []
        paths: list[Path] = []
        files: list[IO[bytes]] = []
        for path in sorted(self.directory.glob(f"{self._prefix}-*{SUFFIX}")):
            try:
                file = path.open("rb")
            except FileNotFoundError:
                continue
            if not _lock(file):
                file.close()
                continue  # a live process's segment, or one another process is reading back
            receipts.extend(_decode(iter(file)))
            paths.append(path)
            files.append(file)
        if receipts:
            log.warning("recovered %d journaled receipts from %d segments", len(receipts), len(paths))
        return Recovered(receipts, paths, files)

    def close(self) -> None:
        """Close every segment; those with receipts not yet stored stay on disk for the next start."""
        for segment in self._segments:
            segment.file.close()
            if segment.stored >= segment.written:
                with contextlib.suppress(FileNotFoundError):
                    segment.path.unlink()
        self._segments.clear()

    @property
    def unstored(self) -> int:
        """Receipts acknowledged to an SMSC and not yet committed to the store."""
        return self._unstored

    # -- the flow -------------------------------------------------------------------------------

    async def append(self, receipt: ReceiptIn) -> Callable[[], None]:
        """Make `receipt` durable; returns the callback to call once the store has committed it.

        Waits while too many receipts are unstored, so a slow store slows the SMSC down instead of
        filling memory.
        """
        while self._unstored >= self._max_unstored:
            self._room.clear()
            await self._room.wait()
        self._unstored += 1
        future: asyncio.Future[_Segment] = asyncio.get_running_loop().create_future()
        self._lines.append(_encode(receipt))
        self._waiting.append((future, receipt))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        segment = await future
        return lambda: self._stored(segment)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._lines:
                lines, self._lines = self._lines, []
                waiting, self._waiting = self._waiting, []
                segment = self._current()
                try:
                    await loop.run_in_executor(None, _append, segment.file, b"".join(lines))
                except Exception as error:
                    self._unstored -= len(waiting)
                    for future, _ in waiting:
                        if not future.done():
                            future.set_exception(error)
                    continue
                segment.written += len(waiting)
                for future, _ in waiting:
                    if not future.done():
                        future.set_result(segment)
        finally:
            self._flushing = False

    def _current(self) -> _Segment:
        now = self._clock()
        if self._segments and not self._segments[-1].closed:
            segment = self._segments[-1]
            if now - segment.opened_at < self._segment_seconds or not segment.written:
                return segment
            segment.closed = True
            self._collect()
        self._counter += 1
        path = self.directory / f"{self._prefix}-{os.getpid()}-{self._counter}{SUFFIX}"
        # Receipts name numbers: readable by the platform's user only.
        file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
        _lock(file)
        segment = _Segment(path, file, now)
        self._segments.append(segment)
        return segment

    def _stored(self, segment: _Segment) -> None:
        segment.stored += 1
        self._unstored -= 1
        if self._unstored < self._max_unstored:
            self._room.set()
        if segment.closed and segment.stored >= segment.written:
            self._collect()

    def _collect(self) -> None:
        """Delete closed segments whose receipts are all stored."""
        keep: list[_Segment] = []
        for segment in self._segments:
            if segment.closed and segment.stored >= segment.written:
                segment.file.close()
                with contextlib.suppress(FileNotFoundError):
                    segment.path.unlink()
            else:
                keep.append(segment)
        self._segments = keep
