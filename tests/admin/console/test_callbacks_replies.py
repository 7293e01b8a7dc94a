"""Callbacks and replies in the console: failing receivers with their answers and retry now; replies
and opt-outs searched (both backends)."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.store.database import Database
from smsplatform.store.schema import callback_errors, callbacks, inbound, optouts
from tests.admin.console.conftest import Browser, World
from tests.store.test_search import T0


def failing_receiver(db: Database) -> None:
    with db.engine.begin() as conn:
        refused = conn.execute(
            sa.insert(callbacks)
            .values(
                account_id=11,
                kind="report",
                payload="{}",
                state="pending",
                attempts=3,
                next_attempt_at=2**40,
                created_at=T0,
                last_error="HTTP 500 from hooks.acme.example",
            )
            .returning(callbacks.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(callback_errors).values(
                callback_id=refused, attempt=3, error="HTTP 500 from hooks.acme.example", at=T0 + 60
            )
        )


async def test_failing_receivers_show_their_answer_and_are_retried_now(
    admin: Browser, world: World, db: Database
) -> None:
    failing_receiver(db)
    page = (await admin.get("/callbacks")).text
    table = page.split('id="failing-receivers"', 1)[1].split("</table>", 1)[0]
    assert "hooks.acme.example" in table and "HTTP 500" in table and "Acme" in table
    answer = await admin.post("/callbacks/retry", {"account": "11"})
    assert answer.status_code == 303
    assert "1 callbacks are due now." in (await admin.get("/callbacks")).text
    with db.engine.begin() as conn:
        due = conn.execute(
            sa.select(callbacks.c.next_attempt_at).where(callbacks.c.state == "pending")
        ).scalar()
    assert due is not None and due < 2**40


async def test_replies_and_opt_outs_are_searched(reviewer: Browser, world: World, db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(inbound).values(
                customer_id=1,
                account_id=11,
                mobile="13800138000",
                destination="10690000011",
                content="TD",
                connector="sim-cmpp",
                received_at=T0 + 100,
            )
        )
        conn.execute(sa.insert(optouts).values(account_id=11, mobile="13800138000", created_at=T0 + 100))
    page = (await reviewer.get("/replies?mobile=13800138000")).text
    replies = page.split('id="replies"', 1)[1].split("</table>", 1)[0]
    assert "TD" in replies and "Acme" in replies and "10690000011" in replies
    assert "TD" not in (await reviewer.get("/replies?text=hello")).text.split('id="replies"', 1)[1]
    optouts_page = (await reviewer.get("/replies/optouts?customer=1")).text
    assert "13800138000" in optouts_page.split('id="optouts"', 1)[1]
