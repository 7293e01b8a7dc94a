"""A dispatcher that died: its claims come back by its submit journal, and only what was on the wire
unanswered is sent again (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from smsplatform.connectors.adapter import SegmentAnswer
from smsplatform.dispatch.submit_journal import SUFFIX, SubmitJournal
from smsplatform.domain.message_states import FINAL_STATES, SUBMITTED, SUBMITTING
from smsplatform.simulator.server import SmscServer
from smsplatform.store.claims import IN_FLIGHT_AT_CRASH, LEASE_RAN_OUT
from smsplatform.store.database import Database
from smsplatform.store.schema import messages, submit_errors
from tests.dispatch.conftest import StartDispatcher, eventually, link
from tests.dispatch.support import make_account, message, parts, queue, run


def claimed_by(db: Database, owner: str, ids: list[int], lease_until: int) -> None:
    """`owner` took these messages (its first attempt), its lease ending at `lease_until`."""

    def take(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(messages)
            .where(messages.c.id.in_(ids))
            .values(state=SUBMITTING, lease_owner=owner, lease_until=lease_until, attempts=1)
        )

    run(db, take)


def died(journal: SubmitJournal) -> None:
    """What a SIGKILL leaves of a journal: its segments with the lines flushed so far, unlocked."""
    journal.flush()
    for segment in journal._segments:
        os.close(segment.fd)


def segment_files(directory: Path) -> list[Path]:
    return list(directory.glob(f"*{SUFFIX}"))


def final(db: Database, ids: list[int]) -> bool:
    return all(message(db, i).state in FINAL_STATES for i in ids)


def errors_of(db: Database) -> list[tuple[int, str, str]]:
    with db.engine.connect() as conn:
        c = submit_errors.c
        return [tuple(r) for r in conn.execute(sa.select(c.message_id, c.outcome, c.error).order_by(c.id))]


async def test_a_dead_dispatchers_claims_come_back_by_its_journal(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher, tmp_path: Path
) -> None:
    account = make_account(db)
    answered, on_the_wire, never_sent = queue(
        db, account, ["13800138000", "13800138001", "13800138002"], now=int(time.time())
    )
    ids = [answered, on_the_wire, never_sent]
    claimed_by(db, "host:1:dead", ids, lease_until=1)  # long expired: the journal decides, not the lease
    dead = SubmitJournal(tmp_path)
    dead.open("host:1:dead")
    for message_id in ids:
        dead.begin(message_id, 1)
    dead.written("sim", answered, 1, 1)
    dead.answered("sim", answered, 1, SegmentAnswer(True, "0000000042"))
    dead.written("sim", on_the_wire, 1, 1)
    died(dead)

    running = await start_dispatcher(
        [link("sim", smsc.port)], ["sim"], submit_journal=SubmitJournal(tmp_path)
    )
    await eventually(lambda: final(db, [on_the_wire, never_sent]))

    # The answered one is submitted under the SMSC's id and not sent again; the one on the wire is
    # sent again, counted; the one that never left is sent, not counted.
    assert message(db, answered).state == SUBMITTED
    assert [(p.connector, p.remote_id) for p in parts(db, answered)] == [("sim", "0000000042")]
    assert sorted(m.destination for m in smsc.received) == ["13800138001", "13800138002"]
    assert [message(db, i).maybe_sent for i in ids] == [0, 1, 0]
    assert errors_of(db) == [(on_the_wire, "maybe_sent", IN_FLIGHT_AT_CRASH)]
    stats = running.dispatcher.stats()
    assert (stats.recovered, stats.requeued) == (1, 2)
    await running.stop()
    assert segment_files(tmp_path) == []  # given back, then forgotten


async def test_expired_leases_wait_for_their_owners_journal(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher, tmp_path: Path
) -> None:
    account = make_account(db)
    now = int(time.time())
    [alive_holds] = queue(db, account, ["13800138003"], now=now)
    [gone_held] = queue(db, account, ["13800138004"], now=now)
    claimed_by(db, "host:2:alive", [alive_holds], lease_until=1)
    claimed_by(db, "elsewhere:3:gone", [gone_held], lease_until=1)  # no journal here: another machine's
    alive = SubmitJournal(tmp_path)
    alive.open("host:2:alive")
    alive.begin(alive_holds, 1)

    running = await start_dispatcher(
        [link("sim", smsc.port)], ["sim"], submit_journal=SubmitJournal(tmp_path)
    )
    # The round that requeued the other machine's expired claim left the live owner's alone.
    await eventually(lambda: final(db, [gone_held]))
    assert message(db, gone_held).maybe_sent == 1
    assert errors_of(db) == [(gone_held, "maybe_sent", LEASE_RAN_OUT)]
    row = message(db, alive_holds)
    assert (row.state, row.lease_owner) == (SUBMITTING, "host:2:alive")

    died(alive)  # it dies without having written it: sent now, not counted as possibly sent
    await eventually(lambda: final(db, [alive_holds]))
    assert message(db, alive_holds).maybe_sent == 0
    assert sorted(m.destination for m in smsc.received) == ["13800138003", "13800138004"]
    await running.stop()


async def test_a_journaled_dispatcher_sends_each_message_once_and_leaves_no_segment(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher, tmp_path: Path
) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"1380013{n:04d}" for n in range(300)], now=int(time.time()))
    journal = SubmitJournal(tmp_path, segment_seconds=0.05)  # rotated often: old segments must go
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"], submit_journal=journal)
    running.dispatcher.wake.set()
    await eventually(lambda: final(db, ids), within=20)
    assert smsc.counters.messages == 300
    assert journal.in_flight == 0
    await running.stop()
    assert segment_files(tmp_path) == []
