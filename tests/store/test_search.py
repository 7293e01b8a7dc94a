"""The operator's searches on a real database: every page newest first, nothing lost or repeated
between pages, time ranges found by id, on both backends."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform.store import search
from smsplatform.store.database import Database
from smsplatform.store.schema import accounts, customers, inbound, messages, optouts, sends
from smsplatform.store.search import MessageFilter

T0 = 1_700_000_000


def add_customer(conn: sa.Connection, customer_id: int, name: str) -> None:
    conn.execute(
        sa.insert(customers).values(
            id=customer_id, name=name, appkey_hash=f"key-{customer_id}", totalnum=10**9, created_at=T0
        )
    )


def add_account(conn: sa.Connection, account_id: int, customer_id: int, signature: str, **urls: str) -> None:
    conn.execute(
        sa.insert(accounts).values(
            id=account_id,
            customer_id=customer_id,
            company=f"company {account_id}",
            signature=signature,
            totalnum=10**6,
            extension=f"{account_id:04d}",
            addtime=T0,
            **urls,
        )
    )


def seed(conn: sa.Connection) -> None:
    """Two customers; the first with two sub-accounts, the second with one."""
    add_customer(conn, 1, "Acme")
    add_customer(conn, 2, "Globex")
    add_account(conn, 11, 1, "【阿克米】", statusurl="https://hooks.acme.example/sms", replyurl="")
    add_account(conn, 12, 1, "【阿克米营销】", statusurl="", replyurl="https://mo.acme.example:8443/in")
    add_account(
        conn, 21, 2, "【环球】", statusurl="https://globex.example/r", replyurl="https://globex.example/m"
    )


_next_send = itertools.count(1)


def add_message(
    conn: sa.Connection,
    *,
    account_id: int = 11,
    mobile: str = "13800138000",
    created_at: int = T0,
    message_id: int | None = None,
    send_id: int | None = None,
    content: str = "【阿克米】您的验证码是1234",
    kind: str = "verification",
    carrier: str = "mobile",
    state: str = "delivered",
    connector: str | None = "smsc-1",
    stat: str = "DELIVRD",
    segments: int = 1,
    submitted_at: int | None = None,
    done_at: int | None = None,
) -> int:
    customer_id = conn.execute(
        sa.select(accounts.c.customer_id).where(accounts.c.id == account_id)
    ).scalar_one()
    if send_id is None:
        send_id = conn.execute(
            sa.insert(sends)
            .values(
                customer_id=customer_id, account_id=account_id, count=1, fee=segments, created_at=created_at
            )
            .returning(sends.c.id)
        ).scalar_one()
    values: dict[str, Any] = dict(
        send_id=send_id,
        customer_id=customer_id,
        account_id=account_id,
        mobile=mobile,
        content=content,
        kind=kind,
        segments=segments,
        carrier=carrier,
        state=state,
        connector=connector,
        stat=stat,
        created_at=created_at,
        submitted_at=submitted_at,
        done_at=done_at,
    )
    if message_id is not None:
        values["id"] = message_id
    return int(conn.execute(sa.insert(messages).values(**values).returning(messages.c.id)).scalar_one())


def fix_sequence(conn: sa.Connection, table: sa.Table) -> None:
    """After rows with explicit ids, PostgreSQL's id sequence must move past them."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
        )


def all_pages(fetch: Callable[[int | None], tuple[Sequence[Any], int | None]]) -> list[Any]:
    """Every row over every page, following the pages' cursors (with a bound, so a bug cannot hang)."""
    found: list[Any] = []
    cursor: int | None = None
    for _ in range(1000):
        rows, cursor = fetch(cursor)
        found.extend(rows)
        if cursor is None:
            return found
    raise AssertionError("pages never ended")


# --- time → id ------------------------------------------------------------------------------------


def test_the_first_id_at_a_time_is_found_by_id_with_gaps_and_ties(db: Database) -> None:
    stamps = {5: T0, 6: T0, 40: T0 + 10, 41: T0 + 10, 42: T0 + 11, 900: T0 + 500, 901: T0 + 501}
    with db.engine.begin() as conn:
        seed(conn)
        for message_id, created_at in stamps.items():
            add_message(conn, message_id=message_id, created_at=created_at)
    with db.engine.connect() as conn:
        for ts in range(T0 - 5, T0 + 510):
            expected = min((i for i, at in stamps.items() if at >= ts), default=902)
            found = search.first_id_at(conn, messages, messages.c.created_at, ts)
            # Any id in (the last id before `expected`, expected] bounds the same rows.
            assert max((i for i in stamps if i < expected), default=0) < found <= expected, ts


def test_the_first_id_of_an_empty_table_is_its_end(db: Database) -> None:
    with db.engine.connect() as conn:
        assert search.first_id_at(conn, messages, messages.c.created_at, T0) == 0
        assert search.id_range(conn, messages, messages.c.created_at, T0, T0 + 60) == (0, 0)


# --- messages -------------------------------------------------------------------------------------


@pytest.fixture
def traffic(db: Database) -> list[dict[str, Any]]:
    """60 messages over two hours, ids far apart (so that sparse searches take several windows), of
    three sub-accounts, two numbers, two carriers and four states."""
    made = []
    states = ["delivered", "undelivered", "queued", "failed"]
    with db.engine.begin() as conn:
        seed(conn)
        for n in range(60):
            row = dict(
                message_id=1 + n * 5_000,
                account_id=(11, 12, 21)[n % 3],
                mobile=("13800138000", "13900139000")[n % 2],
                created_at=T0 + n * 120,
                carrier=("mobile", "unicom")[n // 30],
                state=states[n % 4],
                connector=None if states[n % 4] == "queued" else ("smsc-1", "smsc-2")[n % 5 % 2],
            )
            add_message(conn, **row)
            made.append(row)
        fix_sequence(conn, messages)
    return made


def _expected(made: list[dict[str, Any]], **match: Any) -> list[int]:
    customer_of = {11: 1, 12: 1, 21: 2}
    found = []
    for row in made:
        values = {**row, "customer_id": customer_of[row["account_id"]]}
        since, until = match.get("since"), match.get("until")
        if since is not None and row["created_at"] < since:
            continue
        if until is not None and row["created_at"] >= until:
            continue
        if all(values[k] == v for k, v in match.items() if k not in ("since", "until")):
            found.append(row["message_id"])
    return sorted(found, reverse=True)


SHAPES: list[dict[str, Any]] = [
    {},
    {"mobile": "13900139000"},
    {"customer_id": 1},
    {"account_id": 12},
    {"state": "failed"},
    {"carrier": "unicom", "state": "delivered"},
    {"connector": "smsc-2"},
    {"customer_id": 1, "state": "queued"},
    {"account_id": 21, "mobile": "13800138000"},
    {"since": T0 + 600, "until": T0 + 3_000},
    {"customer_id": 2, "since": T0 + 1_000},
    {"state": "undelivered", "until": T0 + 4_000},
]


@pytest.mark.parametrize("shape", SHAPES, ids=[",".join(s) or "all" for s in SHAPES])
@pytest.mark.parametrize("budget", [search.DEFAULT_BUDGET_SECONDS, 0.0])
def test_every_search_shape_pages_through_its_matches_newest_first(
    db: Database, traffic: list[dict[str, Any]], shape: dict[str, Any], budget: float
) -> None:
    """With no time budget at all, sparse searches stop after every window: their pages are short,
    but following the cursors still gives every match once, in order."""
    where = MessageFilter(**shape)

    def fetch(before: int | None) -> tuple[list[int], int | None]:
        page = search.find_messages(conn, where, limit=4, before_id=before, budget=budget)
        assert len(page.rows) <= 4
        return [r.id for r in page.rows], page.next_before_id

    with db.engine.connect() as conn:
        assert all_pages(fetch) == _expected(traffic, **shape)


def test_a_search_by_msgid_finds_the_messages_of_that_send(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        first = add_message(conn, mobile="13800138000")
        send_id = conn.execute(sa.select(messages.c.send_id).where(messages.c.id == first)).scalar_one()
        second = add_message(conn, mobile="13800138001", send_id=send_id)
        add_message(conn, mobile="13800138002")
    with db.engine.connect() as conn:
        page = search.find_messages(conn, MessageFilter(msgid=send_id))
    assert [r.id for r in page.rows] == [second, first]
    assert {r.msgid for r in page.rows} == {send_id} and page.next_before_id is None


def test_rows_show_names_beside_ids_and_a_preview_of_the_content(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_message(conn, account_id=12, content="【阿克米营销】" + "很长的内容" * 20, connector=None)
    with db.engine.connect() as conn:
        [row] = search.find_messages(conn, MessageFilter()).rows
        [whole] = search.find_messages(conn, MessageFilter(), whole_content=True).rows
    assert (row.customer_id, row.customer_name) == (1, "Acme")
    assert (row.account_id, row.account_signature) == (12, "【阿克米营销】")
    assert row.connector == "" and row.preview.endswith("…")
    assert len(row.preview) == search.PREVIEW_CHARS + 1 and row.preview.startswith("【阿克米营销】很长")
    assert whole.preview == "【阿克米营销】" + "很长的内容" * 20


def test_a_sub_account_of_another_customer_matches_nothing(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_message(conn, account_id=21)
    with db.engine.connect() as conn:
        assert search.find_messages(conn, MessageFilter(customer_id=1, account_id=21)).rows == []
        assert search.find_messages(conn, MessageFilter(account_id=999)).rows == []
        assert len(search.find_messages(conn, MessageFilter(customer_id=2, account_id=21)).rows) == 1


def test_filters_that_can_match_nothing_are_refused_with_a_reason(db: Database) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(ValueError, match="unknown state 'sent'"):
            search.find_messages(conn, MessageFilter(state="sent"))
        with pytest.raises(ValueError, match="unknown carrier"):
            search.find_messages(conn, MessageFilter(carrier="vodafone"))
        with pytest.raises(ValueError, match="after its start"):
            search.find_messages(conn, MessageFilter(since=T0, until=T0))
        with pytest.raises(ValueError, match="1 to"):
            search.find_messages(conn, MessageFilter(), limit=0)


def test_times_stamped_slightly_out_of_id_order_are_still_found(db: Database) -> None:
    """Rows are stamped before their group commit: a later id may carry an earlier second."""
    with db.engine.begin() as conn:
        seed(conn)
        stamps = [T0, T0 + 100, T0 + 98, T0 + 101, T0 + 99, T0 + 200]
        ids = [add_message(conn, created_at=at) for at in stamps]
    with db.engine.connect() as conn:
        page = search.find_messages(conn, MessageFilter(since=T0 + 99, until=T0 + 101))
    assert [r.id for r in page.rows] == [ids[4], ids[1]]


# --- one message ----------------------------------------------------------------------------------


def test_a_message_reads_whole_or_not_at_all(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        message_id = add_message(conn, content="【阿克米】全文", submitted_at=T0 + 1, done_at=T0 + 5)
    with db.engine.connect() as conn:
        record = search.get_message(conn, message_id)
        assert search.get_message(conn, message_id + 1) is None
        assert search.parts_of(conn, message_id) == []
        assert search.submit_errors_of(conn, message_id) == []
        assert search.callbacks_of(conn, message_id) == []
    assert record is not None
    assert (record.content, record.submitted_at, record.done_at, record.maybe_sent) == (
        "【阿克米】全文",
        T0 + 1,
        T0 + 5,
        0,
    )


# --- replies --------------------------------------------------------------------------------------


def add_reply(
    conn: sa.Connection, *, account_id: int | None, mobile: str, content: str, received_at: int, reply_id: int
) -> None:
    customer_id = (
        None
        if account_id is None
        else conn.execute(sa.select(accounts.c.customer_id).where(accounts.c.id == account_id)).scalar_one()
    )
    conn.execute(
        sa.insert(inbound).values(
            id=reply_id,
            customer_id=customer_id,
            account_id=account_id,
            mobile=mobile,
            destination="106900000011",
            content=content,
            connector="smsc-1",
            received_at=received_at,
        )
    )


@pytest.fixture
def replies(db: Database) -> list[dict[str, Any]]:
    made = []
    with db.engine.begin() as conn:
        seed(conn)
        for n in range(30):
            row = dict(
                reply_id=1 + n * 9_000,
                account_id=(11, 12, 21, None)[n % 4],
                mobile=("13800138000", "13900139000", "13700137000")[n % 3],
                content=("TD", "好的 100%", "谢谢")[n % 3 if n % 7 else 0],
                received_at=T0 + n * 60,
            )
            add_reply(conn, **row)
            made.append(row)
        fix_sequence(conn, inbound)
    return made


REPLY_SHAPES: list[dict[str, Any]] = [
    {},
    {"account_id": 12},
    {"customer_id": 1},
    {"mobile": "13900139000"},
    {"text": "100%"},
    {"text": "_"},
    {"since": T0 + 300, "until": T0 + 900},
    {"customer_id": 2, "text": "谢"},
]


@pytest.mark.parametrize("shape", REPLY_SHAPES, ids=[",".join(s) or "all" for s in REPLY_SHAPES])
def test_replies_page_through_their_matches_newest_first(
    db: Database, replies: list[dict[str, Any]], shape: dict[str, Any]
) -> None:
    customer_of = {11: 1, 12: 1, 21: 2, None: None}
    expected = []
    for row in replies:
        if "text" in shape and shape["text"] not in row["content"]:
            continue
        if "since" in shape and not shape["since"] <= row["received_at"] < shape["until"]:
            continue
        values = {**row, "customer_id": customer_of[row["account_id"]]}
        if all(values[k] == v for k, v in shape.items() if k not in ("text", "since", "until")):
            expected.append(row["reply_id"])

    def fetch(before: int | None) -> tuple[list[int], int | None]:
        page = search.find_replies(conn, **shape, limit=3, before_id=before, budget=0.0)
        return [r.id for r in page.rows], page.next_before_id

    with db.engine.connect() as conn:
        assert all_pages(fetch) == sorted(expected, reverse=True)


def test_replies_show_names_and_unmatched_ones_show_none(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        add_reply(conn, account_id=21, mobile="13800138000", content="TD", received_at=T0, reply_id=1)
        add_reply(conn, account_id=None, mobile="13800138000", content="?", received_at=T0, reply_id=2)
    with db.engine.connect() as conn:
        unmatched, matched = search.find_replies(conn).rows
    assert (matched.customer_name, matched.account_signature) == ("Globex", "【环球】")
    assert (unmatched.customer_id, unmatched.customer_name, unmatched.account_id) == (None, "", None)


# --- opt-outs -------------------------------------------------------------------------------------


def test_opt_outs_page_by_sub_account_and_number(db: Database) -> None:
    with db.engine.begin() as conn:
        seed(conn)
        rows = [
            (account_id, f"1380013800{n}")
            for account_id in (11, 12, 21)
            for n in range(4)
            if (account_id + n) % 3
        ]
        conn.execute(
            sa.insert(optouts),
            [{"account_id": a, "mobile": m, "created_at": T0 + i} for i, (a, m) in enumerate(rows)],
        )

    def pages(**filters: Any) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        before = None
        while True:
            page = search.find_optouts(conn, **filters, limit=2, before=before)
            found.extend((r.account_id, r.mobile) for r in page.rows)
            if page.next_before is None:
                return found
            before = page.next_before

    with db.engine.connect() as conn:
        assert pages() == sorted(rows, reverse=True)
        assert pages(account_id=12) == sorted([r for r in rows if r[0] == 12], reverse=True)
        assert pages(customer_id=1) == sorted([r for r in rows if r[0] in (11, 12)], reverse=True)
        assert pages(mobile="13800138001") == sorted([r for r in rows if r[1] == "13800138001"], reverse=True)
        [first] = search.find_optouts(conn, account_id=21, limit=1).rows
        with pytest.raises(ValueError, match="cursor"):
            search.find_optouts(conn, before="twelve")
    assert (first.customer_name, first.account_signature, first.customer_id) == ("Globex", "【环球】", 2)
