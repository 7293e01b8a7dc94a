"""Accepting a send: the quota debit and one `queued` message per number, in one transaction.

The message table is the outbox that dispatchers claim from; once `accept_send` has committed, the
messages exist and will be delivered whatever process dies next.
"""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.templates import TemplateKind
from smsplatform.store.rollups import Tally
from smsplatform.store.routing import pins_for
from smsplatform.store.schema import accounts, messages, optouts, sends

IDEMPOTENCY_SECONDS = 24 * 3600
MARKETING = TemplateKind.MARKETING.value


@dataclass(frozen=True, slots=True)
class NewMessage:
    mobile: str
    content: str
    segments: int
    kind: str  # marketing, verification or notification: the template's
    carrier: str  # from the prefix table; a pinned number's carrier replaces it


@dataclass(frozen=True, slots=True)
class SendRequest:
    customer_id: int
    account_id: int
    messages: Sequence[NewMessage]
    now: int
    request_id: str | None = None
    fingerprint: str = ""  # what the request asked for, so a reused request_id with other content is caught
    # Numbers the API already skipped ({"mobile", "status", "msg"}), and the status/msg for opted-out ones:
    # the whole answer is stored with the messages, so a replay after a crash answers the same.
    failed: Sequence[dict[str, str]] = ()
    opted_out_error: tuple[str, str] = ("", "")


@dataclass(frozen=True, slots=True)
class Accepted:
    result: dict[str, Any]  # count, accountid, msgid, fee and, when numbers were skipped, failed


@dataclass(frozen=True, slots=True)
class Replay:
    """The request_id was seen within 24 hours: the first answer, and whether the request was the same."""

    result: dict[str, Any]
    same_request: bool


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # "quota": the sub-account's balance cannot cover the fee; "opted_out": no number left
    opted_out: list[str] = field(default_factory=list)


SendOutcome = Accepted | Replay | Refused


def find_replay(
    conn: sa.Connection,
    customer_id: int,
    request_id: str,
    fingerprint: str,
    now: int,
    *,
    release_expired: bool = False,
) -> Replay | None:
    """The first answer given to `request_id` within 24 hours, or None.

    Only the writer (`release_expired`) frees an expired key for reuse: the API's early lookup runs on a
    read connection, where a write could fail or wait behind the writer.
    """
    row = conn.execute(
        sa.select(sends.c.id, sends.c.response, sends.c.created_at).where(
            sends.c.customer_id == customer_id, sends.c.request_id == request_id
        )
    ).first()
    if row is None:
        return None
    if row.created_at < now - IDEMPOTENCY_SECONDS or row.response is None:
        # Expired: the key may be used again.
        if release_expired:
            conn.execute(sa.update(sends).where(sends.c.id == row.id).values(request_id=None))
        return None
    stored = json.loads(row.response)
    return Replay(stored["result"], stored["fingerprint"] == fingerprint)


def _in_chunks(values: Sequence[str], size: int = 900) -> Iterator[list[str]]:
    """Slices that stay under every backend's bound-parameter limit."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


_OPTED_OUT = sa.select(optouts.c.mobile).where(
    optouts.c.account_id == sa.bindparam("account"),
    optouts.c.mobile.in_(sa.bindparam("mobiles", expanding=True)),
)


def _opted_out(conn: sa.Connection, account_id: int, mobiles: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _in_chunks(mobiles):
        found.update(conn.execute(_OPTED_OUT, {"account": account_id, "mobiles": chunk}).scalars())
    return found


# Built once: constructing Core statements per request costs more than executing them.
_DEBIT = (
    sa.update(accounts)
    .where(
        accounts.c.id == sa.bindparam("account"),
        accounts.c.usednum + sa.bindparam("fee") <= accounts.c.totalnum,
    )
    .values(usednum=accounts.c.usednum + sa.bindparam("fee"))
)
_INSERT_SEND = sa.insert(sends).returning(sends.c.id, sort_by_parameter_order=True)
_MESSAGE_COLUMNS = (
    "send_id",
    "customer_id",
    "account_id",
    "mobile",
    "content",
    "kind",
    "segments",
    "carrier",
    "state",
    "created_at",
)


def _insert_messages(conn: sa.Connection, rows: list[tuple[object, ...]]) -> None:
    # Straight to the driver's executemany: for 5,000 rows, SQLAlchemy's per-row parameter handling
    # costs more than the insert itself.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(_MESSAGE_COLUMNS)
    marks = ", ".join([mark] * len(_MESSAGE_COLUMNS))
    conn.exec_driver_sql(f"INSERT INTO {messages.name} ({columns}) VALUES ({marks})", rows)


# A message row's (customer_id, carrier, kind): what the traffic figures count it by.
_FIGURE_KEY = operator.itemgetter(1, 7, 5)

_STORE_RESPONSE = (
    sa.update(sends).where(sends.c.id == sa.bindparam("send")).values(response=sa.bindparam("payload"))
)


def accept_send(conn: sa.Connection, req: SendRequest) -> SendOutcome:
    return accept_sends(conn, [req])[0]


def accept_sends(conn: sa.Connection, requests: Sequence[SendRequest]) -> list[SendOutcome]:
    """Accepts many sends in a handful of statements: the hot path under concurrent load.

    Each request is judged on its own (its quota debit succeeds or not); the messages of all accepted
    requests are inserted with one executemany.
    """
    outcomes: list[SendOutcome | None] = [None] * len(requests)
    batches: list[list[NewMessage]] = []
    opted: list[list[str]] = []
    debits: list[int] = []
    for index, req in enumerate(requests):
        replay = (
            find_replay(conn, req.customer_id, req.request_id, req.fingerprint, req.now, release_expired=True)
            if req.request_id
            else None
        )
        if replay is not None:
            outcomes[index] = replay
            batches.append([])
            opted.append([])
            continue
        batch, opted_out = _without_opted_out(conn, req)
        batches.append(batch)
        opted.append(opted_out)
        if not batch:
            outcomes[index] = Refused("opted_out", opted_out)
            continue
        fee = sum(m.segments for m in batch)
        if not conn.execute(_DEBIT, {"account": req.account_id, "fee": fee}).rowcount:
            outcomes[index] = Refused("quota", opted_out)
            continue
        debits.append(index)
    if not debits:
        return [o for o in outcomes if o is not None]

    send_ids = (
        conn.execute(
            _INSERT_SEND,
            [
                {
                    "customer_id": requests[i].customer_id,
                    "account_id": requests[i].account_id,
                    "count": len(batches[i]),
                    "fee": sum(m.segments for m in batches[i]),
                    "request_id": requests[i].request_id or None,
                    "created_at": requests[i].now,
                }
                for i in debits
            ],
        )
        .scalars()
        .all()
    )
    pins = pins_for(conn, [m.mobile for i in debits for m in batches[i]])
    rows: list[tuple[object, ...]] = []
    tally = Tally()
    for i, send_id in zip(debits, send_ids, strict=True):
        req = requests[i]
        start = len(rows)
        rows.extend(
            (
                send_id,
                req.customer_id,
                req.account_id,
                m.mobile,
                m.content,
                m.kind,
                m.segments,
                pins.get(m.mobile, m.carrier),
                "queued",
                req.now,
            )
            for m in batches[i]
        )
        tally.accepted(req.now, Counter(map(_FIGURE_KEY, rows[start:])))
        outcomes[i] = Accepted(_result(req, send_id, batches[i], opted[i]))
    _insert_messages(conn, rows)
    tally.write(conn)
    responses = [
        {"send": send_id, "payload": _replay_payload(requests[i], outcomes[i])}
        for i, send_id in zip(debits, send_ids, strict=True)
        if requests[i].request_id
    ]
    if responses:
        conn.execute(_STORE_RESPONSE, responses)
    return [o for o in outcomes if o is not None]


def _without_opted_out(conn: sa.Connection, req: SendRequest) -> tuple[list[NewMessage], list[str]]:
    batch = list(req.messages)
    marketing = [m.mobile for m in batch if m.kind == MARKETING]
    if not marketing:
        return batch, []
    # Marketing is never sent to a number on the sub-account's opt-out list.
    blocked = _opted_out(conn, req.account_id, marketing)
    if not blocked:
        return batch, []
    kept = [m for m in batch if not (m.kind == MARKETING and m.mobile in blocked)]
    return kept, [m.mobile for m in batch if m.kind == MARKETING and m.mobile in blocked]


def _result(req: SendRequest, send_id: int, batch: list[NewMessage], opted_out: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "count": str(len(batch)),
        "accountid": str(req.account_id),
        "msgid": str(send_id),
        "fee": str(sum(m.segments for m in batch)),
    }
    status, msg = req.opted_out_error
    failed = [*req.failed, *({"mobile": m, "status": status, "msg": msg} for m in opted_out)]
    if failed:
        result["failed"] = failed
    return result


def _replay_payload(req: SendRequest, outcome: SendOutcome | None) -> str:
    assert isinstance(outcome, Accepted)
    return json.dumps({"fingerprint": req.fingerprint, "result": outcome.result}, ensure_ascii=False)
