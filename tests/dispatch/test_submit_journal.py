"""The submit journal: on disk before the wire, gone once settled, read back whole after a crash."""

from __future__ import annotations

import os
import time
from pathlib import Path

from smsplatform.connectors.adapter import SegmentAnswer
from smsplatform.dispatch.submit_journal import PREFIX, STALE_STAGING_SECONDS, SUFFIX, SubmitJournal
from smsplatform.domain.submit_outcomes import Submitted

BOOT = "boot-1"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def ok(remote_id: str) -> SegmentAnswer:
    return SegmentAnswer(True, remote_id)


REFUSED = SegmentAnswer(False, "", False, "0x0000000B")


def journal(directory: Path, owner: str, **kwargs: object) -> SubmitJournal:
    opened = SubmitJournal(directory, boot=BOOT, **kwargs)  # type: ignore[arg-type]
    opened.open(owner)
    return opened


def died(opened: SubmitJournal) -> None:
    """What a SIGKILL leaves: its segments with the lines flushed so far, unlocked."""
    opened.flush()
    for segment in opened._segments:
        os.close(segment.fd)


async def test_lines_reach_the_file_at_flush_and_go_when_settled(tmp_path: Path) -> None:
    clock = Clock()
    log = journal(tmp_path, "d1", segment_seconds=1.0, clock=clock)
    log.begin(7, 1)
    log.written("sim", 7, 1, 1)
    [first] = segments(tmp_path)
    assert b"W\t7" not in first.read_bytes()  # buffered until the session writes to its socket
    log.flush()
    assert b"W\t7\t1\t1\t1\tsim\n" in first.read_bytes()
    log.answered("sim", 7, 1, ok("abc"))
    log.flush()
    assert b"A\t7\t1\t1\tsim\t+abc\n" in first.read_bytes()

    clock.now = 2.0  # the next batch starts a new segment; the first goes once its message settles
    log.begin(8, 3)
    log.written("sim", 8, 1, 1)
    log.flush()
    assert len(segments(tmp_path)) == 2
    log.settle(7)
    assert first not in segments(tmp_path)
    log.settle(8)
    left = log.close()  # nothing left in flight: nothing left on disk
    assert left is not None and left.paths == [] and left.claims.complete
    assert segments(tmp_path) == []


async def test_a_dead_process_claims_are_read_back_by_what_the_smsc_saw(tmp_path: Path) -> None:
    dead = journal(tmp_path, "host:1:aa")
    for message_id in (1, 2, 3, 4, 5):
        dead.begin(message_id, 2)
    dead.written("sim", 1, 1, 2)  # answered in full: recorded, never sent again
    dead.written("sim", 1, 2, 2)
    dead.answered("sim", 1, 1, ok("r1"))
    dead.answered("sim", 1, 2, ok("r2"))
    dead.written("sim", 2, 1, 1)  # on the wire, no answer: possibly sent
    dead.written("sim", 3, 1, 1)  # refused: the SMSC does not have it
    dead.answered("sim", 3, 1, REFUSED)
    dead.written("other", 4, 1, 2)  # one segment taken, the other never left: possibly sent
    dead.answered("other", 4, 1, ok("r4"))
    # 5: claimed, never written
    died(dead)

    [taken] = SubmitJournal(tmp_path, boot=BOOT).take_dead()
    claims = taken.claims
    assert claims.owner == "host:1:aa" and claims.complete
    assert claims.answered == {1: (2, Submitted(1, "sim", ("r1", "r2")))}
    assert claims.on_the_wire == {2: 2, 4: 2}
    assert SubmitJournal(tmp_path, boot=BOOT).take_dead() == []  # locked by its taker meanwhile
    taken.forget()
    assert segments(tmp_path) == []


async def test_failover_within_one_claim_is_judged_by_the_link_that_took_it(tmp_path: Path) -> None:
    dead = journal(tmp_path, "d")
    dead.begin(9, 1)
    dead.written("first", 9, 1, 1)
    dead.answered("first", 9, 1, REFUSED)
    dead.written("second", 9, 1, 1)
    dead.answered("second", 9, 1, ok("x9"))
    died(dead)
    [taken] = SubmitJournal(tmp_path, boot=BOOT).take_dead()
    assert taken.claims.answered == {9: (1, Submitted(9, "second", ("x9",)))}


async def test_only_the_latest_attempt_counts(tmp_path: Path) -> None:
    dead = journal(tmp_path, "d")
    dead.begin(5, 1)
    dead.written("sim", 5, 1, 1)
    dead.answered("sim", 5, 1, ok("old"))
    dead.begin(5, 2)  # claimed again (its first result was committed, its segment not yet deleted)
    dead.written("sim", 5, 1, 1)
    died(dead)
    [taken] = SubmitJournal(tmp_path, boot=BOOT).take_dead()
    assert (taken.claims.answered, taken.claims.on_the_wire) == ({}, {5: 2})


async def test_a_live_journal_is_not_taken_and_keeps_its_owner_local(tmp_path: Path) -> None:
    live = journal(tmp_path, "alive")
    live.begin(1, 1)
    live.written("sim", 1, 1, 1)
    live.flush()
    other = SubmitJournal(tmp_path, boot=BOOT)
    assert other.take_dead() == []
    assert other.local_owners() == {"alive"}
    own = live.close()  # stopping: what is left comes back to its owner to give back
    assert own is not None and own.claims.on_the_wire == {1: 1}
    own.forget()
    assert other.local_owners() == set()


async def test_after_a_reboot_the_journal_is_not_taken_as_whole(tmp_path: Path) -> None:
    dead = journal(tmp_path, "d")
    dead.begin(1, 1)
    dead.written("sim", 1, 1, 1)
    dead.answered("sim", 1, 1, ok("r1"))
    died(dead)
    [taken] = SubmitJournal(tmp_path, boot="boot-2").take_dead()
    # Answers on record still count; a claim not named may have left in lines the reboot lost.
    assert taken.claims.answered == {1: (1, Submitted(1, "sim", ("r1",)))}
    assert not taken.claims.complete


async def test_a_torn_last_line_and_unusual_names_read_back(tmp_path: Path) -> None:
    dead = journal(tmp_path, "d")
    dead.begin(1, 1)
    dead.written("link\twith tab", 1, 1, 1)
    dead.answered("link\twith tab", 1, 1, ok("id\nwith newline"))
    died(dead)
    [path] = segments(tmp_path)
    with path.open("ab") as file:
        file.write(b"W\t2\t1\t1")  # cut by the crash: its frame never left
    [taken] = SubmitJournal(tmp_path, boot=BOOT).take_dead()
    assert taken.claims.answered == {1: (1, Submitted(1, "link\twith tab", ("id\nwith newline",)))}
    assert taken.claims.on_the_wire == {}


async def test_a_segment_is_named_only_once_it_is_locked(tmp_path: Path) -> None:
    left_by_a_crash = tmp_path / f".submits-64-1-1{SUFFIX}"  # created, not yet renamed
    left_by_a_crash.write_bytes(b"H\t{}\n")
    long_ago = time.time() - STALE_STAGING_SECONDS - 1
    os.utime(left_by_a_crash, (long_ago, long_ago))
    live = journal(tmp_path, "d")
    [own] = [name for name in names(tmp_path) if not name.startswith(".")]
    assert names(tmp_path) == [left_by_a_crash.name, own]
    assert SubmitJournal(tmp_path, boot=BOOT).take_dead() == []  # the live one is not taken
    assert names(tmp_path) == [own]
    live.close()


def test_a_staging_segment_is_removed_only_once_it_is_stale(tmp_path: Path) -> None:
    """A staging segment is created before it is locked: in that instant another process looking for
    dead journals must not take it (its owner renames it next), but one a crash left behind goes."""
    young = tmp_path / f".{PREFIX}-6f-1-1{SUFFIX}"
    stale = tmp_path / f".{PREFIX}-6f-2-1{SUFFIX}"
    for path in (young, stale):
        path.write_bytes(b'H\t{"owner": "o"}\n')
    long_ago = time.time() - STALE_STAGING_SECONDS - 1
    os.utime(stale, (long_ago, long_ago))
    SubmitJournal(tmp_path, boot=BOOT).take_dead()
    assert young.exists() and not stale.exists()
