"""Stopping and starting a link (as Kannel's stop-smsc): real SMPP links to the simulator."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.message_states import FINAL_STATES, SUBMITTED
from smsplatform.simulator.server import SmscServer
from smsplatform.store.accounts import Account
from smsplatform.store.connectors import ConnectorRow, add_connector, set_route, set_stopped
from smsplatform.store.database import Database
from smsplatform.store.schema import messages
from tests.dispatch.conftest import SOURCE, Running, StartDispatcher, eventually, link
from tests.dispatch.support import make_account, message, run
from tests.dispatch.support import queue as queue_at


def queue(db: Database, account: Account, count: int, first: int = 0) -> list[int]:
    mobiles = [f"138001380{n % 10}{n // 10}" for n in range(first, first + count)]
    return queue_at(db, account, mobiles, now=int(time.time()))


def states(db: Database, ids: list[int]) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(sa.select(messages.c.state).where(messages.c.id.in_(ids))).scalars())


def submitted(db: Database, ids: list[int]) -> bool:
    """Every message went out (its receipt may still be on its way)."""
    return all(state == SUBMITTED or state in FINAL_STATES for state in states(db, ids))


def smpp_row(name: str, port: int, system_id: str, password: str) -> ConnectorRow:
    options = {
        "response_timeout": "2",
        "bind_wait": "0.3",
        "reconnect_initial": "0.05",
        "reconnect_max": "0.2",
    }
    return ConnectorRow(
        name, "smpp", "127.0.0.1", port, system_id, password, source_number=SOURCE, options=options
    )


def sent_by(smsc: SmscServer[Any], system_id: str) -> int:
    return sum(1 for received in smsc.received if received.system_id == system_id)


def state(running: Running, name: str) -> str:
    stats = running.dispatcher.connector_stats().get(name)
    return "absent" if stats is None else stats.state


async def test_a_stopped_link_answers_its_in_flight_submits_and_its_traffic_fails_over(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    run(db, add_connector, smpp_row("first", smsc.port, "esme", "pw"))
    run(db, add_connector, smpp_row("second", smsc.port, "other", "pw2"))
    run(db, set_route, "mobile", ["first", "second"])
    account = make_account(db)
    running = await start_dispatcher()
    await eventually(lambda: state(running, "first") == state(running, "second") == "bound")

    smsc.slow_responses(1.0)  # long enough to see the link stopping while they are out
    in_flight = queue(db, account, 5)
    running.dispatcher.wake.set()
    await eventually(lambda: running.dispatcher.connector_stats()["first"].in_flight == 5)
    run(db, set_stopped, "first", True)
    await eventually(lambda: state(running, "first") == "stopping")
    smsc.clear_faults()
    await eventually(lambda: state(running, "first") == "stopped")
    stopped = running.dispatcher.connector_stats()["first"]
    assert (stopped.binds, stopped.in_flight) == (0, 0)
    await eventually(lambda: submitted(db, in_flight))
    for message_id in in_flight:  # answered before the unbind: sent once, over the stopped link
        row = message(db, message_id)
        assert (row.connector, row.maybe_sent, row.attempts) == ("first", 0, 1)
    assert sent_by(smsc, "esme") == 5
    assert not any(session.system_id == "esme" for session in smsc.sessions)

    failed_over = queue(db, account, 6, first=5)
    running.dispatcher.wake.set()
    await eventually(lambda: all(state in FINAL_STATES for state in states(db, failed_over)))
    assert {message(db, i).connector for i in failed_over} == {"second"}
    assert sent_by(smsc, "esme") == 5  # nothing more went through the stopped link

    run(db, set_stopped, "first", False)
    await eventually(lambda: state(running, "first") == "bound")
    resumed = queue(db, account, 4, first=11)
    running.dispatcher.wake.set()
    await eventually(lambda: all(state in FINAL_STATES for state in states(db, [*in_flight, *resumed])))
    assert {message(db, i).connector for i in resumed} == {"first"}
    assert sent_by(smsc, "esme") == 9


async def test_a_stopped_builtin_link_holds_its_messages_until_started(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    account = make_account(db)
    running = await start_dispatcher([link("sim-smpp", smsc.port)], ["sim-smpp"])
    await eventually(lambda: state(running, "sim-smpp") == "bound")
    run(db, set_stopped, "sim-smpp", True)
    await eventually(lambda: state(running, "sim-smpp") == "stopped")

    held = queue(db, account, 3)
    running.dispatcher.wake.set()
    await eventually(lambda: message(db, held[0]).errcode == "no route")  # tried, and waits
    assert smsc.counters.messages == 0
    assert running.dispatcher.connectors.route("mobile") == []

    run(db, set_stopped, "sim-smpp", False)
    await eventually(lambda: all(state in FINAL_STATES for state in states(db, held)), within=10.0)
    assert smsc.counters.messages == 3
    assert {message(db, i).connector for i in held} == {"sim-smpp"}


async def test_a_link_stopped_before_dispatch_starts_never_binds(
    db: Database, smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    run(db, add_connector, smpp_row("quiet", smsc.port, "esme", "pw"))
    run(db, set_stopped, "quiet", True)
    running = await start_dispatcher()
    await eventually(lambda: state(running, "quiet") == "stopped")
    assert running.dispatcher.connectors.get("quiet") is None
    assert smsc.counters.binds == 0
    run(db, set_stopped, "quiet", False)
    await eventually(lambda: state(running, "quiet") == "bound")
    assert smsc.counters.binds == 1
