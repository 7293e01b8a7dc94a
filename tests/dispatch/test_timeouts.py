"""Messages that would never end, through a running dispatcher with a clock the test moves: a code
whose link is down expires unsent and refunded; a report that never comes ends the message unknown."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.domain.expiry import MaxAges
from smsplatform.domain.message_states import DELIVERED, FAILED, QUEUED, SUBMITTED, UNKNOWN
from smsplatform.domain.segments import count_segments
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from smsplatform.store.accounts import Account
from smsplatform.store.database import Database
from smsplatform.store.outbox import Accepted, NewMessage, SendRequest, accept_send
from smsplatform.store.schema import messages
from tests.dispatch.conftest import FAST_POLICY, StartDispatcher, eventually, link
from tests.dispatch.support import SIGNATURE, callback_items, make_account, message, run, usednum


class Clock:
    """Unix seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def accept(db: Database, account: Account, mobiles: Sequence[str], kind: str, now: float) -> list[int]:
    content = SIGNATURE + "您的验证码是1234"
    new = [NewMessage(m, content, count_segments(content), kind, "mobile") for m in mobiles]

    def unit(conn: sa.Connection) -> list[int]:
        outcome = accept_send(conn, SendRequest(account.customer_id, account.id, new, int(now)))
        assert isinstance(outcome, Accepted)
        query = sa.select(messages.c.id).where(messages.c.send_id == int(outcome.result["msgid"]))
        return list(conn.execute(query.order_by(messages.c.id)).scalars())

    return run(db, unit)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def silent_smsc() -> AsyncIterator[SmscServer[Any]]:
    """An SMSC that takes every submit and would report an hour later: never, for these tests."""
    server = create_simulator("smpp", {"esme": "pw"}, LastDigitRule(delay=3600))
    await server.start()
    yield server
    await server.close()


async def test_a_code_whose_link_is_down_expires_unsent_with_a_report_and_a_refund(
    db: Database, start_dispatcher: StartDispatcher
) -> None:
    clock = Clock()
    accepted_at = int(clock.now)
    port = free_port()  # nothing listens there: the link cannot come up
    account = make_account(db)
    [code] = accept(db, account, ["13800138000"], "verification", clock.now)
    assert usednum(db, account.id) == 1
    policy = replace(FAST_POLICY, max_ages=MaxAges(verification=600))
    running = await start_dispatcher([link("down", port)], ["down"], policy=policy, clock=clock)
    running.dispatcher.wake.set()

    # Tried, no bound link: queued again, never later than the moment it expires.
    await eventually(lambda: message(db, code).attempts == 1 and message(db, code).state == QUEUED)
    assert accepted_at < message(db, code).next_attempt_at <= accepted_at + 600

    clock.now = accepted_at + 599  # not yet: retries go on (the backoff is shorter than the wait)
    running.dispatcher.wake.set()
    await eventually(lambda: message(db, code).attempts >= 2)
    assert message(db, code).state in (QUEUED, "submitting")

    clock.now = accepted_at + 600
    running.dispatcher.wake.set()
    await eventually(lambda: message(db, code).state == FAILED)
    row = message(db, code)
    assert (row.stat, row.errcode, row.done_at) == ("EXPIRED", "MAXAGE", accepted_at + 600)
    assert usednum(db, account.id) == 0  # refunded
    [report] = callback_items(db)
    assert (report["reportid"], report["status"], report["success"], report["errcode"]) == (
        str(code),
        "EXPIRED",
        "0",
        "MAXAGE",
    )

    # The link comes up: a fresh code goes out, the expired one never does.
    smsc = create_simulator("smpp", {"esme": "pw"}, LastDigitRule(delay=0.02))
    await smsc.start("127.0.0.1", port)
    try:
        [fresh] = accept(db, account, ["13800138001"], "verification", clock.now)
        running.dispatcher.wake.set()
        await eventually(lambda: message(db, fresh).state == DELIVERED, within=10)
        assert [m.destination for m in smsc.received] == ["13800138001"]
        assert message(db, code).state == FAILED
    finally:
        await running.stop()
        await smsc.close()


async def test_a_report_that_never_comes_ends_the_message_unknown_with_one_report(
    db: Database, silent_smsc: SmscServer[Any], start_dispatcher: StartDispatcher
) -> None:
    clock = Clock()
    account = make_account(db)
    [message_id] = accept(db, account, ["13800138000"], "notification", clock.now)
    policy = replace(FAST_POLICY, receipt_timeout=7200)
    running = await start_dispatcher([link("sim", silent_smsc.port)], ["sim"], policy=policy, clock=clock)
    running.dispatcher.wake.set()
    await eventually(lambda: message(db, message_id).state == SUBMITTED)
    submitted_at = message(db, message_id).submitted_at

    clock.now = submitted_at + 7201
    await eventually(lambda: message(db, message_id).state == UNKNOWN)
    row = message(db, message_id)
    assert (row.stat, row.errcode, row.done_at) == ("UNKNOWN", "TIMEOUT", submitted_at + 7201)
    [report] = callback_items(db)
    assert (report["status"], report["success"], report["errcode"]) == ("UNKNOWN", "0", "TIMEOUT")
    await eventually(lambda: running.dispatcher.stats().timed_out == 1)  # counted once the write returned
    assert usednum(db, account.id) == 1  # the carrier took it: no refund
    assert silent_smsc.counters.messages == 1
