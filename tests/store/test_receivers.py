"""Receivers as the callbacks outbox leaves them: failing ones found with their last answer, the
backlog counted, retries made due now without touching callbacks in flight."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.store import callbacks as outbox
from smsplatform.store import receivers
from smsplatform.store.database import Database
from smsplatform.store.schema import callbacks
from tests.store.test_search import seed

NOW = 1_700_000_000


def owe(conn: sa.Connection, account_id: int, kind: str, n: int, at: int) -> None:
    for i in range(n):
        item = {"msgid": str(i), "reportid": str(i)}
        if kind == outbox.REPORT:
            outbox.enqueue_report(conn, account_id, item, at)
        else:
            outbox.enqueue_reply(conn, account_id, item, at)


def attempt(conn: sa.Connection, at: int, answers: dict[tuple[int, str], str | None]) -> None:
    """Claim everything due and settle it: refused with the receiver's answer, acknowledged (None), or
    handed back untried (a receiver not in `answers`)."""
    claimed = outbox.claim_due(conn, at, 1000)
    retries, done, untried = [], [], []
    for c in claimed:
        key = (c.account_id, c.kind)
        if key not in answers:
            untried.append(c.id)
        elif answers[key] is None:
            done.append(c.id)
        else:
            retries.append((c.id, at + 60, str(answers[key])))
    outbox.settle(conn, done=done, retries=retries, now=at)
    outbox.release(conn, untried, at)


def test_failing_receivers_show_their_backlog_and_newest_answer(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 3, NOW)
        owe(conn, 21, outbox.REPLY, 2, NOW + 5)
        owe(conn, 21, outbox.REPORT, 1, NOW + 5)
        attempt(conn, NOW + 10, {(11, "report"): "HTTP 500", (21, "reply"): None, (21, "report"): None})
        owe(conn, 21, outbox.REPLY, 1, NOW + 20)  # pending, never tried: not failing
        attempt(conn, NOW + 70, {(11, "report"): "connection refused"})
    with db.engine.connect() as conn:
        groups = {(g.account_id, g.kind): g for g in receivers.pending_by_receiver(conn)}
        errors = receivers.last_errors(conn)
    assert set(groups) == {(11, "report"), (21, "reply")}
    acme = groups[11, "report"]
    assert (acme.pending, acme.failed, acme.oldest_created_at, acme.max_attempts) == (3, 3, NOW, 2)
    assert acme.next_attempt_at == NOW + 130
    assert groups[21, "reply"].failed == 0 and groups[21, "reply"].pending == 1
    assert errors == {(11, "report"): ("connection refused", NOW + 70)}


def test_hosts_are_named_without_port_path_or_credentials(db: Database) -> None:
    assert receivers.host_of("https://user:secret@Hooks.Example.com:8443/cb?token=x") == "hooks.example.com"
    assert receivers.host_of("not a url") == ""
    with db.engine.begin() as conn:
        seed(conn)
    with db.engine.connect() as conn:
        assert receivers.receivers_at_host(conn, "globex.example") == [(21, "reply"), (21, "report")]
        assert receivers.receivers_at_host(conn, "MO.ACME.EXAMPLE") == [(12, "reply")]
        assert receivers.receivers_at_host(conn, "acme.example") == []  # a host, not a suffix
        assert receivers.receivers_at_host(conn, "") == []


def test_counts_by_state(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 4, NOW)
        attempt(conn, NOW + 1, {(11, "report"): "HTTP 502"})
        [first, second, *_] = outbox.claim_due(conn, NOW + 61, 2)
        outbox.settle(conn, done=[first.id], dead=[(second.id, "HTTP 410")], now=NOW + 62)
        owe(conn, 11, outbox.REPORT, 1, NOW + 100)
    with db.engine.connect() as conn:
        counts = receivers.counts(conn, NOW + 100)
        assert receivers.counts(conn, NOW + 60).due == 0  # the two refused are due again at NOW + 61
    assert (counts.pending, counts.failing, counts.due, counts.dead, counts.done) == (3, 2, 3, 1, 1)
    assert counts.oldest_pending_at == NOW


def test_retry_now_moves_waiting_retries_but_not_callbacks_in_flight(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 2, NOW)
        owe(conn, 21, outbox.REPORT, 2, NOW)
        attempt(conn, NOW + 1, {(11, "report"): "HTTP 500", (21, "report"): "HTTP 500"})
        owe(conn, 21, outbox.REPLY, 1, NOW + 2)
        [in_flight] = outbox.claim_due(conn, NOW + 2, 1)  # the reply, being posted right now
    with db.engine.begin() as conn:
        assert receivers.retry_now(conn, [(11, "report")], NOW + 5) == 2
        assert receivers.retry_now(conn, [(11, "report")], NOW + 5) == 0  # already due
        assert receivers.retry_now(conn, None, NOW + 5) == 2
        rows = {r.id: r for r in conn.execute(sa.select(callbacks))}
    assert rows[in_flight.id].next_attempt_at == in_flight_lease(rows[in_flight.id].lease_until)
    assert sorted(r.next_attempt_at for i, r in rows.items() if i != in_flight.id) == [NOW + 5] * 4
    with db.engine.begin() as conn:
        assert {c.kind for c in outbox.claim_due(conn, NOW + 5, 100)} == {"report"}


def in_flight_lease(lease_until: int | None) -> int:
    assert lease_until is not None and lease_until > NOW + 5
    return lease_until
