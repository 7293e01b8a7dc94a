"""message, stats, callback and reply on the command line: names beside ids, local times, pages."""

from __future__ import annotations

import csv
import io
import time

import sqlalchemy as sa

from smsplatform.cli.output import local_time
from smsplatform.store import callbacks as outbox
from smsplatform.store.schema import optouts
from tests.cli.conftest import Cli
from tests.store.test_receivers import attempt, owe
from tests.store.test_search import T0, add_message, add_reply, seed


def _messages(conn: sa.Connection) -> list[int]:
    seed(conn)
    acme = {"account_id": 11, "mobile": "13800138000"}
    return [
        add_message(conn, **acme, created_at=T0, submitted_at=T0 + 1, done_at=T0 + 3),
        add_message(
            conn,
            account_id=21,
            mobile="13900139000",
            created_at=T0 + 10,
            state="queued",
            connector=None,
            stat="",
        ),
        add_message(conn, **acme, created_at=T0 + 20, content="【阿克米】=HYPERLINK()"),
    ]


def test_message_search_and_show(run: Cli) -> None:
    first, second, third = run.database(_messages)
    table = run.ok("message", "search", "--mobile", "+8613800138000")
    lines = table.splitlines()
    assert lines[0].split()[:4] == ["id", "msgid", "created", "at"]
    assert [line.split()[0] for line in lines[1:3]] == [str(third), str(first)]
    assert "Acme (1)" in lines[1] and "【阿克米】" in lines[1] and local_time(T0 + 20) in lines[1]
    found = run.json("message", "search", "--customer", "2")
    assert [r["id"] for r in found["rows"]] == [second] and found["rows"][0]["customer_name"] == "Globex"
    paged = run.ok("message", "search", "--limit", "1")
    assert f"--before-id {third}" in paged
    assert run.json("message", "search", "--state", "queued")["rows"][0]["id"] == second
    day = time.strftime("%Y-%m-%d", time.localtime(T0))
    assert len(run.json("message", "search", "--since", day, "--until", day)["rows"]) >= 1
    run.fails("message", "search", "--state", "lost", code=2)
    shown = run.ok("message", "show", str(first))
    assert "customer:" in shown and "Acme (1)" in shown and "timeline:" in shown and "accepted" in shown
    assert run.json("message", "show", str(first))["customer_name"] == "Acme"
    assert "not found" in run.fails("message", "show", "999")


def test_message_export_is_csv(run: Cli) -> None:
    run.database(_messages)
    rows = list(csv.reader(io.StringIO(run.ok("message", "export", "--customer", "1"))))
    assert rows[0][:3] == ["id", "msgid", "created"] and len(rows) == 3
    assert rows[1][-1] == "【阿克米】=HYPERLINK()"


def test_stats_on_a_quiet_platform(run: Cli) -> None:
    text = run.ok("stats", "--period", "1h")
    for heading in ("as of", "today by carrier:", "now:", "links:", "the last 1h:"):
        assert heading in text
    data = run.json("stats", "--period", "30d", "--by", "carrier")
    assert data["series"]["window"] == "30d" and len(data["series"]["total"]) == 30
    assert data["overview"]["queue"]["queued"] == 0
    run.fails("stats", "--period", "1y", code=2)


def test_callbacks_failing_and_retry(run: Cli) -> None:
    now = int(time.time())

    def refuse(conn: sa.Connection) -> None:
        seed(conn)
        owe(conn, 11, outbox.REPORT, 3, now - 600)
        attempt(conn, now - 30, {(11, "report"): "HTTP 500"})

    run.database(refuse)
    failing = run.ok("callback", "list", "--failing")
    assert "hooks.acme.example" in failing and "HTTP 500" in failing and "【阿克米】 (11)" in failing
    both = run.json("callback", "list")
    assert both["backlog"]["pending"] == 3 and both["failing"][0]["host"] == "hooks.acme.example"
    assert run.json("callback", "retry", "--host", "hooks.acme.example") == {"retried": 3}
    assert "callback(s) due now" in run.ok("callback", "retry", "--account", "11")
    assert "not found" in run.fails("callback", "retry", "--account", "99")
    assert [e["action"] for e in run.json("audit", "list")] == ["callback.retry", "callback.retry"]


def test_replies_and_opt_outs(run: Cli) -> None:
    def replies(conn: sa.Connection) -> None:
        seed(conn)
        add_reply(conn, account_id=11, mobile="13800138000", content="TD", received_at=T0, reply_id=1)
        add_reply(conn, account_id=21, mobile="13900139000", content="收到", received_at=T0 + 9, reply_id=2)
        conn.execute(sa.insert(optouts).values(account_id=11, mobile="13800138000", created_at=T0))

    run.database(replies)
    table = run.ok("reply", "search", "--text", "收到")
    assert "Globex (2)" in table and "收到" in table and "TD" not in table
    assert [r["id"] for r in run.json("reply", "search", "--mobile", "8613800138000")["rows"]] == [1]
    optouts_shown = run.ok("reply", "optouts")
    assert "13800138000" in optouts_shown and "【阿克米】 (11)" in optouts_shown
