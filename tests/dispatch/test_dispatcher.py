"""The dispatcher end to end: the store, real SMPP links and the simulator over loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from smsplatform.dispatch.journal import ReceiptJournal
from smsplatform.domain.message_states import FINAL_STATES, QUEUED, SUBMITTED
from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.simulator.server import SmscServer
from smsplatform.store import rollups
from smsplatform.store.accounts import Account
from smsplatform.store.claims import LEASE_RAN_OUT, claim
from smsplatform.store.connectors import ConnectorRow, add_connector, remove_connector, set_route
from smsplatform.store.database import Database
from smsplatform.store.results import record_results
from smsplatform.store.schema import inbound, messages, optouts, submit_errors, traffic_stats
from tests.dispatch.conftest import SOURCE, StartDispatcher, eventually, link
from tests.dispatch.support import callback_items, make_account, message, parts, run
from tests.dispatch.support import queue as queue_at

LONG_TEXT = "长" * 150  # with the signature: 156 characters, three segments


def queue(db: Database, account: Account, mobiles: list[str], text: str = "您的验证码是1234") -> list[int]:
    return queue_at(db, account, mobiles, text, now=int(time.time()))


def states(db: Database, ids: list[int]) -> dict[int, str]:
    with db.engine.connect() as conn:
        query = sa.select(messages.c.id, messages.c.state).where(messages.c.id.in_(ids))
        return {row.id: row.state for row in conn.execute(query)}


def all_final(db: Database, ids: list[int]) -> bool:
    return all(state in FINAL_STATES for state in states(db, ids).values())


def failed_attempts(db: Database) -> list[tuple[int, int, str, str, str]]:
    with db.engine.connect() as conn:
        c = submit_errors.c
        query = sa.select(c.message_id, c.attempt, c.connector, c.outcome, c.error).order_by(c.id)
        return [tuple(row) for row in conn.execute(query)]


def smpp_row(name: str, port: int, password: str = "pw") -> ConnectorRow:
    options = {
        "response_timeout": "2",
        "bind_wait": "0.3",
        "reconnect_initial": "0.05",
        "reconnect_max": "0.2",
    }
    return ConnectorRow(
        name, "smpp", "127.0.0.1", port, "esme", password, source_number=SOURCE, options=options
    )


async def test_queued_messages_are_submitted_receipted_and_reported(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    mobiles = [f"138001380{n:02d}" for n in range(20)]  # last digits 0-9 twice: every outcome
    ids = queue(db, account, mobiles)
    [long_id] = queue(db, account, ["13900139000"], LONG_TEXT)
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"])
    running.dispatcher.wake.set()
    await eventually(lambda: all_final(db, [*ids, long_id]))

    expected = {"0": "delivered", "7": "undelivered", "8": "expired", "9": "rejected"}
    for message_id, mobile in zip(ids, mobiles, strict=True):
        assert states(db, [message_id])[message_id] == expected.get(mobile[-1], "delivered")
    reports = callback_items(db)
    assert sorted(int(r["reportid"]) for r in reports) == sorted([*ids, long_id])  # exactly one each
    long_report = next(r for r in reports if r["reportid"] == str(long_id))
    assert (long_report["status"], long_report["segments"]) == ("DELIVRD", "3")
    assert len(parts(db, long_id)) == 3

    received = {m.destination: m for m in smsc.received}
    assert received["13900139000"].text == "【进制数据】" + LONG_TEXT
    assert received["13800138000"].source == SOURCE + account.extension
    assert smsc.counters.messages == 21  # nothing twice
    stats = running.dispatcher.stats()
    assert (stats.claimed, stats.submitted, stats.finished) == (21, 21, 21)
    link_stats = running.dispatcher.connector_stats()["sim"]
    assert (link_stats.state, link_stats.sent) == ("bound", 23)

    # The day's figures, kept as the messages changed state, say what the messages say.
    final = states(db, [*ids, long_id]).values()
    delivered = sum(state == "delivered" for state in final)
    with db.engine.connect() as conn:
        now = int(time.time())
        [day] = rollups.traffic(conn, period=rollups.DAY, since=now - 2 * rollups.DAY, until=now + 1).values()
        by_connector = rollups.latency(
            conn, metric="report", period=rollups.MINUTE, since=0, until=now + 1, by=("connector",)
        )
    assert day == rollups.Figures(accepted=21, submitted=21, delivered=delivered, failed=21 - delivered)
    assert {key: histogram.count for key, histogram in by_connector.items()} == {("sim",): 21}


async def test_fails_over_when_the_first_link_is_refused(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    run(db, add_connector, smpp_row("refused", smsc.port, password="wrong"))
    run(db, add_connector, smpp_row("second", smsc.port))
    run(db, set_route, "mobile", ["refused", "second"])
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001"])
    running = await start_dispatcher()
    running.dispatcher.wake.set()
    await eventually(lambda: all_final(db, ids))
    assert {message(db, i).connector for i in ids} == {"second"}
    assert running.dispatcher.connector_stats()["refused"].state != "bound"
    assert smsc.counters.bind_failures >= 1


async def test_throttled_messages_are_retried_later(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001", "13800138002"])
    smsc.throttle(2)
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"])
    running.dispatcher.wake.set()
    await eventually(lambda: all_final(db, ids))
    assert smsc.counters.throttled == 2
    assert sorted(message(db, i).attempts for i in ids) == [1, 2, 2]
    errors = failed_attempts(db)
    assert [(attempt, connector, outcome) for _, attempt, connector, outcome, _ in errors] == [
        (1, "sim", "retry")
    ] * 2
    assert all(error for *_, error in errors)  # the SMSC's answer, whatever words the link puts it in
    assert smsc.counters.messages == 3
    assert all(message(db, i).maybe_sent == 0 for i in ids)


async def test_a_reply_is_stored_forwarded_and_opts_out(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"])
    sim = running.dispatcher.connectors.get("sim")
    assert sim is not None and await sim.wait_bound(2.0)
    smsc.inject_mo("8613800138000", SOURCE + account.extension, "TD")
    await eventually(lambda: len(callback_items(db, "reply")) == 1)
    [reply] = callback_items(db, "reply")
    assert (reply["accountid"], reply["mobile"], reply["content"]) == (str(account.id), "13800138000", "TD")
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(inbound.c.connector)).scalar_one() == "sim"
        assert conn.execute(sa.select(optouts.c.mobile)).scalar_one() == "13800138000"
    await eventually(lambda: smsc.pending_delivers("esme") == 0)  # acknowledged once stored
    assert running.dispatcher.stats().replies == 1


async def test_connectors_and_routes_change_without_restart(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    [first] = queue(db, account, ["13800138000"])
    running = await start_dispatcher()  # nothing configured: the message waits
    running.dispatcher.wake.set()
    await eventually(lambda: message(db, first).errcode == "no route")
    assert message(db, first).state == QUEUED

    run(db, add_connector, smpp_row("live", smsc.port))
    run(db, set_route, "mobile", ["live"])
    await eventually(lambda: all_final(db, [first]))
    assert message(db, first).connector == "live"

    run(db, remove_connector, "live")
    await eventually(lambda: "live" not in running.dispatcher.connector_stats())


async def test_a_dead_dispatchers_claims_are_sent_again(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138001"])

    def died_holding_them(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(messages)
            .where(messages.c.id.in_(ids))
            .values(state="submitting", lease_owner="dead", lease_until=1, attempts=1)
        )

    run(db, died_holding_them)
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"])
    await eventually(lambda: all_final(db, ids))
    assert [message(db, i).maybe_sent for i in ids] == [1, 1]
    assert running.dispatcher.stats().requeued == 2
    assert failed_attempts(db) == [(i, 1, "", "maybe_sent", LEASE_RAN_OUT) for i in ids]


async def test_housekeeping_prunes_old_rollups(db: Database, start_dispatcher: StartDispatcher) -> None:
    now = int(time.time())
    tally = rollups.Tally()
    tally.accepted(now - 10 * rollups.DAY, {(1, "mobile", "marketing"): 1})
    tally.accepted(now, {(1, "mobile", "marketing"): 1})
    run(db, tally.write)

    def minute_rows() -> int:
        with db.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(traffic_stats.c.period == rollups.MINUTE)
            return int(conn.execute(query.select_from(traffic_stats)).scalar_one())

    assert minute_rows() == 2
    await start_dispatcher()
    await eventually(lambda: minute_rows() == 1)


async def test_stop_records_what_is_in_flight(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    smsc.slow_responses(10.0)  # the response will not come before the dispatcher stops
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"])
    running.dispatcher.wake.set()
    await eventually(lambda: smsc.counters.submits == 1)
    await running.stop()
    row = message(db, message_id)
    # The submit left and its answer never came: queued again, counted as possibly sent.
    assert (row.state, row.maybe_sent, row.lease_owner) == (QUEUED, 1, None)


async def test_an_accepted_message_is_never_submitted_twice(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    ids = queue(db, account, [f"1380013{n:04d}" for n in range(300)])
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"])
    running.dispatcher.wake.set()
    await eventually(lambda: all(s != QUEUED and s != "submitting" for s in states(db, ids).values()))
    await running.stop()
    assert smsc.counters.messages == 300
    assert all(state == SUBMITTED or state in FINAL_STATES for state in states(db, ids).values())


async def test_journaled_receipts_reach_the_store(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher, tmp_path: Path
) -> None:
    account = make_account(db)
    ids = queue(db, account, ["13800138000", "13800138007", "13800138009"])
    journal_dir = tmp_path / "journal"
    running = await start_dispatcher([link("sim", smsc.port)], ["sim"], journal=ReceiptJournal(journal_dir))
    running.dispatcher.wake.set()
    await eventually(lambda: all_final(db, ids))
    assert [states(db, ids)[i] for i in ids] == ["delivered", "undelivered", "rejected"]
    assert len(callback_items(db)) == 3
    await running.stop()
    assert list(journal_dir.iterdir()) == []  # every receipt stored, nothing left to replay


async def test_receipts_journaled_before_a_crash_are_stored_at_start(
    db: Database, start_dispatcher: StartDispatcher, tmp_path: Path
) -> None:
    account = make_account(db)
    [message_id] = queue(db, account, ["13800138000"])
    run(db, claim, "dead", int(time.time()), 10, 30)
    run(db, record_results, "dead", [Submitted(message_id, "sim", ("0000000042",))], int(time.time()))
    journal_dir = tmp_path / "journal"
    journal_dir.mkdir()
    segment = journal_dir / "receipts-1-1.journal"
    segment.write_bytes(b'{"c":"sim","r":"0000000042","s":"UNDELIV","e":"005"}\n')
    await start_dispatcher(journal=ReceiptJournal(journal_dir))
    await eventually(lambda: message(db, message_id).state == "undelivered")
    await eventually(lambda: not segment.exists())  # forgotten once stored
    assert [r["status"] for r in callback_items(db)] == ["UNDELIV"]
