"""Every report to its own message, through real SMPP links: SMSCs that issue the same message ids
and report before they answer the submit, and an SMSC that restarts and counts its ids again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.dispatch.journal import ReceiptJournal
from smsplatform.domain.message_states import FINAL_STATES, SUBMITTED
from smsplatform.simulator.rules import LastDigitRule, parse_outcomes
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer
from smsplatform.store.accounts import Account
from smsplatform.store.connectors import add_connector, set_route
from smsplatform.store.database import Database
from smsplatform.store.schema import message_parts, messages, unmatched_receipts
from tests.dispatch.conftest import StartDispatcher, eventually
from tests.dispatch.support import callback_items, make_account, queue, run
from tests.dispatch.test_dispatcher import smpp_row

# Outcomes by last digit, disjoint between the two SMSCs: a report that crossed over would show.
ALPHA_RULE = "last-digit:0-4=DELIVRD,5-9=UNDELIV"
BETA_RULE = "last-digit:0-4=EXPIRED,5-9=REJECTD"
PER_PHASE = 20  # messages per connector and phase


async def _simulator(rule: str, port: int = 0, **options: Any) -> SmscServer[Any]:
    server = create_simulator("smpp", {"esme": "pw"}, parse_outcomes(rule, 0.0), **options)
    await server.start(port=port)
    return server


@pytest.fixture
async def alpha() -> AsyncIterator[SmscServer[Any]]:
    server = await _simulator(ALPHA_RULE, first_id=1, reports_first=True)
    yield server
    await server.close()


@pytest.fixture
async def beta() -> AsyncIterator[SmscServer[Any]]:
    server = await _simulator(BETA_RULE, first_id=1, reports_first=True)
    yield server
    await server.close()


def _rows(db: Database, ids: list[int]) -> dict[int, sa.Row[Any]]:
    with db.engine.connect() as conn:
        query = sa.select(messages).where(messages.c.id.in_(ids))
        return {row.id: row for row in conn.execute(query)}


def _remote_ids(db: Database, connector: str) -> set[str]:
    with db.engine.connect() as conn:
        query = sa.select(message_parts.c.remote_id).where(message_parts.c.connector == connector)
        return set(conn.execute(query).scalars())


def _part_ids(db: Database, message_ids: list[int]) -> set[str]:
    with db.engine.connect() as conn:
        query = sa.select(message_parts.c.remote_id).where(message_parts.c.message_id.in_(message_ids))
        return set(conn.execute(query).scalars())


def _kept(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(unmatched_receipts)).scalar_one())


def _queue_alternately(
    db: Database, account: Account, count: int, first: int, carriers: tuple[str, ...]
) -> dict[int, tuple[str, str]]:
    """`count` messages per carrier, to numbers from `first` on, queued in turns; {id: (connector,
    mobile)}."""
    prefixes = {"mobile": ("138", "alpha"), "unicom": ("186", "beta")}
    sent: dict[int, tuple[str, str]] = {}
    for n in range(first, first + count):
        for carrier in carriers:
            prefix, connector = prefixes[carrier]
            mobile = f"{prefix}001{n:05d}"
            [message_id] = queue(db, account, [mobile], carrier=carrier, now=int(time.time()))
            sent[message_id] = (connector, mobile)
    return sent


def _final(db: Database, ids: dict[int, tuple[str, str]]) -> bool:
    return all(row.state in FINAL_STATES for row in _rows(db, list(ids)).values())


@pytest.mark.parametrize("journaled", [False, True], ids=["stored", "journaled"])
async def test_two_smscs_with_the_same_ids_reporting_first_each_report_to_its_own_message(
    db: Database,
    alpha: SmscServer[Any],
    beta: SmscServer[Any],
    start_dispatcher: StartDispatcher,
    tmp_path: Path,
    journaled: bool,
) -> None:
    run(db, add_connector, smpp_row("alpha", alpha.port))
    run(db, add_connector, smpp_row("beta", beta.port))
    run(db, set_route, "mobile", ["alpha"])
    run(db, set_route, "unicom", ["beta"])
    account = make_account(db)
    journal = ReceiptJournal(tmp_path / "journal") if journaled else None
    running = await start_dispatcher(journal=journal)
    n = PER_PHASE
    ids: dict[int, tuple[str, str]] = {}

    async def send(first: int, *carriers: str) -> dict[int, tuple[str, str]]:
        sent = _queue_alternately(db, account, n, first, carriers)
        ids.update(sent)
        running.dispatcher.wake.set()
        return sent

    # 1. beta reports ids 1..n, which alpha's messages, final by then, already carry.
    await send(0, "mobile")
    await eventually(lambda: _final(db, ids), 10.0)
    await send(0, "unicom")
    await eventually(lambda: _final(db, ids), 10.0)
    # 2. beta reports ids n+1..2n while alpha's messages with those ids still wait for their reports.
    alpha.reports_first, alpha.rule = False, parse_outcomes(ALPHA_RULE, 2.0)
    sent = await send(n, "mobile")
    await eventually(lambda: all(r.state == SUBMITTED for r in _rows(db, list(sent)).values()), 10.0)
    await send(n, "unicom")
    await eventually(lambda: _final(db, ids), 10.0)
    # 3. Both at once, in turns, both reporting first.
    alpha.reports_first, alpha.rule = True, parse_outcomes(ALPHA_RULE, 0.0)
    await send(2 * n, "mobile", "unicom")
    await eventually(lambda: _final(db, ids), 20.0)

    # The scenario happened: the same ids on both links, the reports ahead of their submit responses.
    assert len(_remote_ids(db, "alpha") & _remote_ids(db, "beta")) == 3 * n
    assert (alpha.counters.responses_after_report, beta.counters.responses_after_report) == (2 * n, 3 * n)
    # Each message ended as its own SMSC decided for its own number, with exactly one report.
    rules = {"alpha": parse_outcomes(ALPHA_RULE), "beta": parse_outcomes(BETA_RULE)}
    rows = _rows(db, list(ids))
    for message_id, (connector, mobile) in ids.items():
        row = rows[message_id]
        assert (row.connector, row.stat) == (connector, rules[connector].outcome(mobile).stat), mobile
    reports = callback_items(db)
    assert sorted(int(r["reportid"]) for r in reports) == sorted(ids)
    for report in reports:
        connector, mobile = ids[int(report["reportid"])]
        assert (report["mobile"], report["status"]) == (mobile, rules[connector].outcome(mobile).stat)
    assert _kept(db) == 0  # every early report found its part
    stats = running.dispatcher.stats()
    assert stats.unmatched_receipts >= n and stats.finished == 6 * n


async def test_an_smsc_that_counts_its_ids_again_reports_to_the_new_messages(
    db: Database, start_dispatcher: StartDispatcher
) -> None:
    """Reports of the first messages are lost with the SMSC; the new one issues their ids again and
    reports before answering: the reports name the new numbers, and go to the new messages only."""
    first = await _simulator("last-digit", first_id=1)
    first.rule = LastDigitRule(delay=3600.0)  # never reported
    port = first.port
    run(db, add_connector, smpp_row("sim", port))
    run(db, set_route, "mobile", ["sim"])
    account = make_account(db)
    old = queue(db, account, [f"138001{n:05d}" for n in range(10)], now=int(time.time()))
    running = await start_dispatcher()
    running.dispatcher.wake.set()
    await eventually(lambda: all(r.state == SUBMITTED for r in _rows(db, old).values()))
    await first.close()

    second = await _simulator(ALPHA_RULE, port, first_id=1, reports_first=True)
    try:
        new_numbers = [f"139001{n:05d}" for n in range(10)]
        new = queue(db, account, new_numbers, now=int(time.time()))
        running.dispatcher.wake.set()
        await eventually(lambda: all(r.state in FINAL_STATES for r in _rows(db, new).values()), 10.0)
        assert second.counters.responses_after_report == 10
    finally:
        await second.close()
    rule = parse_outcomes(ALPHA_RULE)
    rows = _rows(db, [*old, *new])
    assert [rows[i].stat for i in new] == [rule.outcome(mobile).stat for mobile in new_numbers]
    assert {rows[i].state for i in old} == {SUBMITTED}  # their own reports never came
    assert sorted(r["mobile"] for r in callback_items(db)) == new_numbers
    assert _part_ids(db, old) == _part_ids(db, new)  # the SMSC did issue the same ids again
