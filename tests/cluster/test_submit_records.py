"""The submit journal mirrored to Redis: a survivor on another machine reads what the dead process's
files hold, the record goes with the messages it tells of, and a record with lines missing says so.

Each side has a Redis connection of its own, as two machines do; the "other machine" never sees the
dead process's directory.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from smsplatform.cluster.shared import SharedState
from smsplatform.cluster.submit_records import SubmitRecords
from smsplatform.connectors.adapter import SegmentAnswer
from smsplatform.dispatch.submit_journal import SubmitJournal, claims_of_record
from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store.claims import JournaledClaims
from tests.redis_server import OwnRedis, own_redis  # noqa: F401
from tests.waiting import wait_for

ALIVE = 0.3  # seconds an alive key outlives its process here, where the death is waited out
HELD = 30.0  # where none may expire during the test, however slow the machine


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ok(remote_id: str) -> SegmentAnswer:
    return SegmentAnswer(True, remote_id)


Make = Callable[..., SharedState]


async def mirrored(directory: Path, owner: str, shared: SharedState, **options: object) -> SubmitJournal:
    records = SubmitRecords(shared, alive_seconds=float(options.pop("alive", HELD)))  # type: ignore[arg-type]
    await records.start(owner)
    journal = SubmitJournal(directory, boot="boot-1", mirror=records, **options)  # type: ignore[arg-type]
    journal.open(owner)
    return journal


def a_batch(journal: SubmitJournal) -> None:
    """Five claims: 1 answered, 2 refused, 3 on the wire unanswered, 4 never written, 5 half answered."""
    for message_id in (1, 2, 3, 4, 5):
        journal.begin(message_id, 1)
    journal.written("sim", 1, 1, 1)
    journal.written("sim", 2, 1, 1)
    journal.written("sim", 3, 1, 1)
    journal.written("sim", 5, 1, 2)
    journal.written("sim", 5, 2, 2)
    journal.flush()
    journal.answered("sim", 1, 1, ok("r-1"))
    journal.answered("sim", 2, 1, SegmentAnswer(False, "", False, "0x0000000B"))
    journal.answered("sim", 5, 1, ok("r-5a"))
    journal.flush()


def mirror_of(journal: SubmitJournal) -> SubmitRecords:
    assert journal.mirror is not None
    return journal.mirror


async def died(survivor: SubmitRecords) -> list[str]:
    """The owners `survivor` finds dead, once some are (their alive keys lapse)."""

    async def silent() -> list[str]:
        return await survivor.silent(await survivor.owners())

    found: list[str] = await wait_for(silent, 10, "a dead owner's alive key to lapse")
    return found


async def test_a_survivor_elsewhere_reads_the_claims_the_dead_process_files_tell(
    tmp_path: Path, connect: Make
) -> None:
    journal = await mirrored(tmp_path / "host-1", "host-1:7:aa", connect(), alive=ALIVE)
    a_batch(journal)
    await mirror_of(journal).stop(forget=False)  # killed: its alive key lapses
    for segment in journal._segments:
        os.close(segment.fd)  # and its files unlocked
    # On its own machine, the files say:
    [local] = SubmitJournal(tmp_path / "host-1", boot="boot-1").take_dead()

    survivor = SubmitRecords(connect())
    assert await died(survivor) == ["host-1:7:aa"]
    record = await survivor.take("host-1:7:aa", "host-2:9:bb")
    assert record is not None
    claims = claims_of_record(record)
    assert claims == local.claims
    assert claims == JournaledClaims(
        "host-1:7:aa", {1: (1, Submitted(1, "sim", ("r-1",)))}, {3: 1, 5: 1}, complete=True
    )
    # One survivor at a time; once given back, the record is gone.
    assert await SubmitRecords(connect()).take("host-1:7:aa", "host-3:1:cc") is None
    await survivor.forget("host-1:7:aa")
    assert await survivor.owners() == set()


async def test_a_live_process_is_not_silent_and_its_settled_segments_leave_redis(
    tmp_path: Path, connect: Make
) -> None:
    clock = Clock()
    journal = await mirrored(tmp_path, "host-1:7:aa", connect(), segment_seconds=1.0, clock=clock)
    survivor = SubmitRecords(connect())
    journal.begin(7, 1)
    journal.written("sim", 7, 1, 1)
    journal.flush()
    clock.now = 2.0  # the next batch starts a new segment
    journal.begin(8, 1)
    journal.written("sim", 8, 1, 1)
    journal.flush()
    assert await survivor.owners() == {"host-1:7:aa"}
    assert await survivor.silent({"host-1:7:aa"}) == []

    reader = connect()

    async def segments_in_redis() -> int:
        return int(await reader.client.scard(reader.key("submits", "segments", "host-1:7:aa")))

    async def one_left() -> bool:
        return await segments_in_redis() == 1

    assert await segments_in_redis() == 2
    journal.settle(7)  # its result is committed: its segment goes, here and in Redis
    left: bool = await wait_for(one_left, 10, "the settled segment to leave redis")
    assert left
    journal.settle(8)
    own = journal.close()
    assert own is not None and own.claims.answered == {} and own.claims.on_the_wire == {}
    own.forget()
    await mirror_of(journal).stop(forget=True)
    assert await survivor.owners() == set()


async def test_lines_written_while_redis_was_down_make_the_record_not_whole(
    tmp_path: Path,
    connect: Make,
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    shared = connect(own_redis.url)
    journal = await mirrored(tmp_path, "host-1:7:aa", shared, alive=ALIVE)
    journal.begin(1, 1)
    journal.written("sim", 1, 1, 1)
    journal.flush()
    own_redis.stop()
    await wait_for(lambda: mirror_of(journal)._wire is None, 10, "the mirror to see redis gone")
    journal.answered("sim", 1, 1, ok("r-1"))  # lost to the mirror
    journal.begin(2, 1)
    journal.written("sim", 2, 1, 1)
    journal.flush()
    # Redis comes back empty (no persistence): the record holds only what came after.
    own_redis.start()
    survivor = SubmitRecords(connect(own_redis.url))

    async def back() -> set[str]:
        return await survivor.owners()

    owners: set[str] = await wait_for(back, 10, "the mirror to come back")
    assert owners == {"host-1:7:aa"}
    journal.begin(3, 1)
    journal.flush()
    await mirror_of(journal).stop(forget=False)
    assert await died(survivor) == ["host-1:7:aa"]
    record = await survivor.take("host-1:7:aa", "host-2:9:bb")
    assert record is not None
    claims = claims_of_record(record)
    # Not whole: every claim not answered on record counts as possibly sent.
    assert not claims.complete


async def test_a_line_flushed_just_before_a_sigkill_is_in_redis(tmp_path: Path, connect: Make) -> None:
    """The mirror's promise, as the file's: what flush() returned from outlives the process, without
    the event loop getting another turn (the session writes its frames right after)."""
    prefix = connect().prefix
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal, uvloop
        from pathlib import Path
        from smsplatform.cluster.shared import SharedState
        from smsplatform.cluster.submit_records import SubmitRecords
        from smsplatform.dispatch.submit_journal import SubmitJournal

        async def main():
            shared = SharedState({connect().url!r}, prefix={prefix!r}, node="victim")
            records = SubmitRecords(shared, alive_seconds={ALIVE})
            await records.start("victim:1:aa")
            journal = SubmitJournal(Path({str(tmp_path)!r}), mirror=records)
            journal.open("victim:1:aa")
            await asyncio.sleep(0.2)  # connected and headed
            for message_id in range(1, 201):
                journal.begin(message_id, 1)
                journal.written("sim", message_id, 1, 1)
            journal.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        uvloop.run(main())  # the loop `serve` runs on
        """
    )
    victim = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    assert await asyncio.wait_for(victim.wait(), 60) == -signal.SIGKILL
    survivor = SubmitRecords(connect())
    assert await died(survivor) == ["victim:1:aa"]
    record = await survivor.take("victim:1:aa", "host-2:9:bb")
    assert record is not None
    claims = claims_of_record(record)
    assert sorted(claims.on_the_wire) == list(range(1, 201))


async def test_a_record_nobody_gives_back_expires_and_its_owner_leaves_the_list(
    tmp_path: Path, connect: Make
) -> None:
    """Its claims then come back as their leases run out, each counted (store.claims.requeue_expired)."""
    records = SubmitRecords(connect(), alive_seconds=ALIVE, record_seconds=1)
    await records.start("host-1:7:aa")
    journal = SubmitJournal(tmp_path, boot="boot-1", mirror=records)
    journal.open("host-1:7:aa")
    a_batch(journal)
    await records.stop(forget=False)
    survivor = SubmitRecords(connect())
    reader = connect()

    async def expired() -> bool:
        return not await reader.client.exists(reader.key("submits", "segments", "host-1:7:aa"))

    gone: bool = await wait_for(expired, 10, "the record to expire")
    assert gone
    assert await survivor.owners() == {"host-1:7:aa"}  # listed until a survivor looks
    assert await survivor.take("host-1:7:aa", "host-2:9:bb") is None
    assert await survivor.owners() == set()
