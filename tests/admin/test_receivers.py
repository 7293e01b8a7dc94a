"""What an operator sees of failing callback receivers, and retrying them now (audited, admins only)."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from smsplatform.admin import audit, receivers
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store import callbacks as outbox
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound
from smsplatform.store.schema import callbacks
from tests.store.test_receivers import attempt, owe
from tests.store.test_search import seed

ADMIN = cli_actor("root")
REVIEWER = Actor("rita", Role.REVIEWER, Via.CONSOLE)


def _refusing_receivers(db: Database) -> int:
    """Acme's status URL answers 500, Globex's reply URL times out; Globex's reports go through."""
    now = int(time.time())
    with db.engine.begin() as conn:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 3, now - 600)
        owe(conn, 21, outbox.REPLY, 1, now - 300)
        owe(conn, 21, outbox.REPORT, 2, now - 300)
        attempt(
            conn, now - 30, {(11, "report"): "HTTP 500", (21, "reply"): "timed out", (21, "report"): None}
        )
    return now


def test_failing_receivers_are_named_by_host_with_backlog_and_answer(db: Database) -> None:
    now = _refusing_receivers(db)
    with db.engine.connect() as conn:
        acme, globex = receivers.failing(conn, REVIEWER)
        backlog = receivers.backlog(conn, REVIEWER)
    assert (acme.host, acme.kind, acme.customer_name, acme.account_signature) == (
        "hooks.acme.example",
        "report",
        "Acme",
        "【阿克米】",
    )
    assert (acme.backlog, acme.failing, acme.attempts) == (3, 3, 1)
    assert (acme.last_error, acme.last_error_at, acme.oldest_pending_at) == ("HTTP 500", now - 30, now - 600)
    assert 600 <= acme.oldest_pending_age < 700
    assert (globex.host, globex.kind, globex.last_error, globex.backlog) == (
        "globex.example",
        "reply",
        "timed out",
        1,
    )
    assert (backlog.pending, backlog.failing, backlog.done, backlog.dead, backlog.failing_receivers) == (
        4,
        4,
        2,
        0,
        2,
    )


def test_retry_now_makes_a_hosts_callbacks_due_and_is_audited(db: Database) -> None:
    _refusing_receivers(db)
    with db.engine.begin() as conn:
        assert receivers.retry_now(conn, ADMIN, host="GLOBEX.example") == 1
        assert receivers.retry_now(conn, ADMIN, account_id=11, host="globex.example") == 0
        assert receivers.retry_now(conn, ADMIN, account_id=11) == 3
        assert receivers.retry_now(conn, ADMIN) == 0
        entries = audit.list_audit(conn, ADMIN, action="callback")
        due = conn.execute(
            sa.select(sa.func.count())
            .select_from(callbacks)
            .where(callbacks.c.state == "pending", callbacks.c.next_attempt_at <= int(time.time()))
        ).scalar_one()
    assert due == 4
    assert [(e.action, e.target) for e in entries] == [
        ("callback.retry", "receivers all"),
        ("callback.retry", "receivers account 11"),
        ("callback.retry", "receivers account 11 globex.example"),
        ("callback.retry", "receivers globex.example"),
    ]
    assert json.loads(entries[-1].after) == {"account_id": None, "host": "globex.example", "callbacks": 1}


def test_a_reviewer_may_look_but_not_retry_and_unknown_sub_accounts_are_not_found(db: Database) -> None:
    _refusing_receivers(db)
    with db.engine.begin() as conn:
        with pytest.raises(Forbidden):
            receivers.retry_now(conn, REVIEWER, account_id=11)
        with pytest.raises(NotFound):
            receivers.retry_now(conn, ADMIN, account_id=99)
        assert audit.list_audit(conn, ADMIN) == []


def test_nothing_failing_is_an_empty_list(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 2, int(time.time()))
    with db.engine.connect() as conn:
        assert receivers.failing(conn, ADMIN) == []
        assert receivers.backlog(conn, ADMIN).pending == 2
