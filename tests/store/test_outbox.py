"""Accepting sends: the quota debit and the queued messages in one transaction (both backends)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.store import accounts, customers, routing
from smsplatform.store.accounts import Account
from smsplatform.store.database import Database
from smsplatform.store.outbox import (
    IDEMPOTENCY_SECONDS,
    Accepted,
    NewMessage,
    Refused,
    Replay,
    SendRequest,
    accept_send,
    accept_sends,
    find_replay,
)
from smsplatform.store.schema import messages, optouts, sends
from tests.api.fast_databases import BACKENDS, fresh_database_url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


NOW = 1_700_000_000
OPTED_OUT = ("233", "号码已退订")


def message(
    mobile: str, kind: str = "notification", segments: int = 1, carrier: str = "mobile"
) -> NewMessage:
    return NewMessage(mobile, f"内容{mobile}【甲方】", segments, kind, carrier)


def request(account: Account, *batch: NewMessage, **extra: Any) -> SendRequest:
    return SendRequest(
        customer_id=account.customer_id,
        account_id=account.id,
        messages=batch,
        now=NOW,
        opted_out_error=OPTED_OUT,
        **extra,
    )


@pytest.fixture
def conn(db: Database) -> Iterator[sa.Connection]:
    with db.engine.begin() as connection:
        yield connection


@pytest.fixture
def account(conn: sa.Connection) -> Account:
    customer = customers.create_customer(conn, "客户", 1000)
    fields = {"company": "c", "signature": "【甲方】", "totalnum": 10}
    return accounts.create_account(conn, customer.id, fields, approve=True)


def stored(conn: sa.Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(sa.select(messages).order_by(messages.c.id))]


def used(conn: sa.Connection, account: Account) -> int:
    return accounts.get_account(conn, account.id).usednum


def test_accepted_messages_are_queued_and_debited(conn: sa.Connection, account: Account) -> None:
    outcome = accept_send(conn, request(account, message("13800138001"), message("13300000001", segments=2)))
    assert isinstance(outcome, Accepted)
    msgid = outcome.result["msgid"]
    assert outcome.result == {"count": "2", "accountid": str(account.id), "msgid": msgid, "fee": "3"}
    rows = stored(conn)
    assert [(r["mobile"], r["segments"], r["state"], r["send_id"], r["created_at"]) for r in rows] == [
        ("13800138001", 1, "queued", int(msgid), NOW),
        ("13300000001", 2, "queued", int(msgid), NOW),
    ]
    assert all(r["account_id"] == account.id and r["customer_id"] == account.customer_id for r in rows)
    assert used(conn, account) == 3
    send = conn.execute(sa.select(sends.c.count, sends.c.fee, sends.c.account_id)).one()
    assert tuple(send) == (2, 3, account.id)


def test_quota_refusal_stores_nothing(conn: sa.Connection, account: Account) -> None:
    accept_send(conn, request(account, *(message(f"1380013800{i}") for i in range(9))))
    outcome = accept_send(conn, request(account, message("13900000001"), message("13900000002")))
    assert outcome == Refused("quota", [])
    assert (used(conn, account), len(stored(conn))) == (9, 9)
    assert conn.execute(sa.select(sa.func.count()).select_from(sends)).scalar() == 1
    assert isinstance(accept_send(conn, request(account, message("13900000001"))), Accepted)
    assert used(conn, account) == 10


def test_marketing_skips_opted_out_numbers(conn: sa.Connection, account: Account) -> None:
    conn.execute(sa.insert(optouts).values(account_id=account.id, mobile="13800138001", created_at=NOW))
    failed = [{"mobile": "123", "status": "202", "msg": "手机号有误"}]
    outcome = accept_send(
        conn,
        request(
            account,
            message("13800138001", "marketing"),
            message("13800138002", "marketing"),
            failed=failed,
        ),
    )
    assert isinstance(outcome, Accepted)
    assert outcome.result["count"] == "1"
    assert outcome.result["failed"] == [
        *failed,
        {"mobile": "13800138001", "status": "233", "msg": "号码已退订"},
    ]
    only = accept_send(conn, request(account, message("13800138001", "marketing")))
    assert only == Refused(
        "opted_out", ["13800138001"], [{"mobile": "13800138001", "status": "233", "msg": "号码已退订"}]
    )
    notice = accept_send(conn, request(account, message("13800138001", "notification")))
    assert isinstance(notice, Accepted)
    assert [r["mobile"] for r in stored(conn)] == ["13800138002", "13800138001"]


def test_pinned_numbers_take_their_carrier(conn: sa.Connection, account: Account) -> None:
    routing.set_pin(conn, "13800138001", "unicom")
    accept_send(conn, request(account, message("13800138001"), message("13800138002")))
    assert [r["carrier"] for r in stored(conn)] == ["unicom", "mobile"]


def test_request_id_replays_the_first_answer(conn: sa.Connection, account: Account) -> None:
    first = accept_send(conn, request(account, message("13800138001"), request_id="r1", fingerprint="f1"))
    assert isinstance(first, Accepted)
    again = accept_send(conn, request(account, message("13800138001"), request_id="r1", fingerprint="f1"))
    assert again == Replay(first.result, same_request=True)
    other = accept_send(conn, request(account, message("13800138009"), request_id="r1", fingerprint="f2"))
    assert other == Replay(first.result, same_request=False)
    assert (used(conn, account), len(stored(conn))) == (1, 1)
    assert find_replay(conn, account.customer_id, "r1", "f1", NOW) == Replay(first.result, True)
    assert find_replay(conn, account.customer_id, "r2", "f1", NOW) is None
    assert find_replay(conn, account.customer_id + 1, "r1", "f1", NOW) is None
    response = json.loads(conn.execute(sa.select(sends.c.response)).scalar_one())
    assert response == {"fingerprint": "f1", "result": first.result}


def test_an_expired_request_id_is_free_again(conn: sa.Connection, account: Account) -> None:
    first = accept_send(conn, request(account, message("13800138001"), request_id="r", fingerprint="f"))
    later = NOW + IDEMPOTENCY_SECONDS + 1
    assert find_replay(conn, account.customer_id, "r", "f", later) is None
    second = accept_send(
        conn,
        SendRequest(account.customer_id, account.id, [message("13800138001")], later, "r", "f"),
    )
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert second.result["msgid"] != first.result["msgid"]


def test_many_requests_in_one_call_are_judged_each_on_its_own(conn: sa.Connection, account: Account) -> None:
    outcomes = accept_sends(
        conn,
        [
            request(account, *(message(f"1380013800{i}") for i in range(6))),
            request(account, *(message(f"1390013900{i}") for i in range(5))),  # 6 + 5 > 10
            request(account, message("13700137000", "marketing"), request_id="k", fingerprint="f"),
            request(account, message("13700137001")),
        ],
    )
    assert [type(o).__name__ for o in outcomes] == ["Accepted", "Refused", "Accepted", "Accepted"]
    assert outcomes[1] == Refused("quota", [])
    msgids = [o.result["msgid"] for o in outcomes if isinstance(o, Accepted)]
    assert len(set(msgids)) == 3
    assert used(conn, account) == 8
    by_send: dict[int, list[str]] = {}
    for row in stored(conn):
        by_send.setdefault(row["send_id"], []).append(row["mobile"])
    assert [len(by_send[int(m)]) for m in msgids] == [6, 1, 1]
    keyed = outcomes[2]
    assert isinstance(keyed, Accepted)
    replayed = accept_sends(conn, [request(account, message("13700137000", "marketing"), request_id="k")])
    assert replayed == [Replay(keyed.result, same_request=False)]


def test_looking_up_an_expired_request_id_does_not_write(db: Database) -> None:
    # The API looks for a replay on a read connection, outside the writer: it must not need to write.
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "客户", 100)
        fields = {"company": "c", "signature": "【甲方】", "totalnum": 10}
        account = accounts.create_account(conn, customer.id, fields, approve=True)
        accept_send(conn, request(account, message("13800138001"), request_id="r", fingerprint="f"))
    later = NOW + IDEMPOTENCY_SECONDS + 1
    with db.read_engine.connect() as conn:
        read_only = "PRAGMA query_only = ON" if db.dialect == "sqlite" else "SET TRANSACTION READ ONLY"
        conn.exec_driver_sql(read_only)
        assert find_replay(conn, account.customer_id, "r", "f", later) is None
        conn.rollback()
        if db.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA query_only = OFF")
