"""Wake-ups over PostgreSQL's LISTEN/NOTIFY, between two `Wakeups` as two processes would hold them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from smsplatform.store.database import normalize_url
from smsplatform.store.wakeups import CALLBACKS, OUTBOX, Wakeups, notify_in
from tests.waiting import wait_for, wait_until

pytestmark = pytest.mark.postgres

LISTENER = "wakeups under test"


def _libpq(url: str) -> str:
    return sa.make_url(normalize_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def pair(postgres_url: str) -> AsyncIterator[tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event]]:
    """A sender's Wakeups, and a listener's with an event per channel, listening."""
    sender = Wakeups(_libpq(postgres_url), application_name="sender under test")
    listener = Wakeups(_libpq(postgres_url), application_name=LISTENER, reconnect_delays=(0.05,))
    outbox, callbacks = asyncio.Event(), asyncio.Event()
    listener.listen(OUTBOX, outbox)
    listener.listen(CALLBACKS, callbacks)
    sender.start()
    listener.start()
    await asyncio.wait_for(listener.listening(), 10)
    outbox.clear()  # set once on connecting: what may have been missed before
    callbacks.clear()
    try:
        yield sender, listener, outbox, callbacks
    finally:
        await sender.close()
        await listener.close()


def _backends(url: str, application_name: str) -> list[int]:
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = :name"
                ),
                {"name": application_name},
            )
            return [int(pid) for (pid,) in rows]
    finally:
        engine.dispose()


def _terminate(url: str, pids: list[int]) -> None:
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            for pid in pids:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        engine.dispose()


async def test_a_notify_reaches_the_listener_of_its_channel_only(
    pair: tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event],
) -> None:
    sender, _, outbox, callbacks = pair
    sender.notify(OUTBOX)
    await asyncio.wait_for(outbox.wait(), 5)
    assert not callbacks.is_set()
    sender.notify(CALLBACKS)
    await asyncio.wait_for(callbacks.wait(), 5)


async def test_notifies_in_one_turn_are_coalesced_into_one(
    pair: tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event],
) -> None:
    sender, _, outbox, _ = pair
    for _ in range(1000):
        sender.notify(OUTBOX)
    await asyncio.wait_for(outbox.wait(), 5)
    await wait_for(lambda: sender.sent, 5, "the NOTIFY counted")
    assert sender.sent == 1


async def test_a_notify_during_one_on_its_way_is_sent_after_it(
    pair: tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event],
) -> None:
    """The second wake-up may be for messages committed after the first was read: it must not be
    swallowed by the one in flight."""
    sender, _, outbox, _ = pair
    sender.notify(OUTBOX)
    await asyncio.sleep(0)  # the sender task takes the first
    sender.notify(OUTBOX)
    await wait_for(lambda: sender.sent == 2, 5, "the second NOTIFY")
    await asyncio.wait_for(outbox.wait(), 5)


async def test_the_listener_comes_back_after_its_connection_is_killed(
    postgres_url: str, pair: tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event]
) -> None:
    sender, listener, outbox, _ = pair
    killed = await asyncio.to_thread(_backends, postgres_url, f"{LISTENER} (listen)")
    assert len(killed) == 1
    await asyncio.to_thread(_terminate, postgres_url, killed)

    def reconnected() -> bool:
        pids = _backends(postgres_url, f"{LISTENER} (listen)")
        return bool(pids) and pids != killed

    # In a thread: the listener reconnects on this event loop meanwhile.
    await asyncio.to_thread(wait_until, reconnected, 10, "the listener on a new connection")
    await asyncio.wait_for(listener.listening(), 5)
    await asyncio.wait_for(outbox.wait(), 5)  # set on reconnecting: a wake-up may have been missed
    outbox.clear()
    sender.notify(OUTBOX)
    await asyncio.wait_for(outbox.wait(), 5)


async def test_a_notify_after_the_senders_connection_was_killed_is_not_lost(
    postgres_url: str, pair: tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event]
) -> None:
    sender, _, outbox, _ = pair
    sender.notify(OUTBOX)
    await asyncio.wait_for(outbox.wait(), 5)  # the sender's connection is open
    outbox.clear()
    killed = await asyncio.to_thread(_backends, postgres_url, "sender under test (notify)")
    await asyncio.to_thread(_terminate, postgres_url, killed)
    sender.notify(OUTBOX)
    await asyncio.wait_for(outbox.wait(), 10)


async def test_a_database_that_cannot_be_reached_only_delays(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on port 1: notify neither raises nor blocks, and both connections say so."""
    wakeups = Wakeups("postgresql://postgres@127.0.0.1:1/none", reconnect_delays=(0.01,))
    wakeups.listen(OUTBOX, asyncio.Event())
    wakeups.start()
    try:
        wakeups.notify(OUTBOX)

        def both_logged() -> bool:
            lost = {
                r.getMessage().split(")")[0] for r in caplog.records if "lost the database" in r.getMessage()
            }
            return lost == {"wake-ups (notify", "wake-ups (listen"}

        await wait_for(both_logged, 10, "both connections logged as failing")
        wakeups.notify(OUTBOX)
        assert wakeups.sent == 0
    finally:
        await wakeups.close()


async def test_a_notify_in_a_transaction_is_delivered_at_its_commit_only(
    postgres_url: str, pair: tuple[Wakeups, Wakeups, asyncio.Event, asyncio.Event]
) -> None:
    """Work made due in a transaction wakes no one before it is there to claim, nor if it never is."""
    _, _, outbox, callbacks = pair
    engine = sa.create_engine(normalize_url(postgres_url))
    try:
        with engine.connect() as conn:
            notify_in(conn, CALLBACKS)
            conn.rollback()
            notify_in(conn, OUTBOX)
            conn.commit()
    finally:
        engine.dispose()
    await asyncio.wait_for(outbox.wait(), 5)  # delivered after the rolled-back one would have been
    assert not callbacks.is_set()
