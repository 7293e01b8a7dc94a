"""Accepting a send: the frequency limits, the quota debit and one `queued` message per number, in one
transaction.

The message table is the outbox that dispatchers claim from; once `accept_send` has committed, the
messages exist and will be delivered whatever process dies next. It is also what the frequency limits
count (`store/limits.py`): checked in the transaction that adds to it, they hold across restarts and
cost no memory. Scaled out, Redis counts them for every node before the transaction
(`cluster/limits.py`), and the request brings the decisions (`SendRequest.within`).
"""

from __future__ import annotations

import json
import operator
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.frequency import Limit, within_limits
from smsplatform.domain.message_states import QUEUED
from smsplatform.domain.payloads import send_answer, skipped_number
from smsplatform.domain.templates import TemplateKind
from smsplatform.store.driver import chunks, execute_for_ids, insert_rows
from smsplatform.store.limits import STORED_HISTORY, NumberKey, SendHistory
from smsplatform.store.rollups import Tally
from smsplatform.store.routing import pins_for
from smsplatform.store.schema import accounts, messages, optouts, sends

IDEMPOTENCY_SECONDS = 24 * 3600
MARKETING = TemplateKind.MARKETING.value
_QUEUED = QUEUED.value  # read once: an enum member's value is a property, and this runs per message


@dataclass(frozen=True, slots=True)
class NewMessage:
    mobile: str
    content: str
    segments: int
    kind: str  # marketing, verification or notification: the template's
    carrier: str  # from the prefix table; a pinned number's carrier replaces it
    position: int = 0  # where the number stood in the request: skipped numbers are listed in that order


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
    # Where each of `failed` stood in the request (none given: before every message).
    failed_at: Sequence[int] = ()
    # The frequency limits per kind; a kind not named has none. And the status/msg of a number over them.
    limits: Mapping[str, Sequence[Limit]] = field(default_factory=dict)
    frequency_error: tuple[str, str] = ("", "")
    # Scaled out, the frequency limits are decided before the transaction (counted in Redis by every
    # node): per message, whether it is within them. None: counted here from the stored messages.
    within: Sequence[bool] | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    result: dict[str, Any]  # count, accountid, msgid, fee and, when numbers were skipped, failed
    # With limits decided beforehand (`SendRequest.within`): the positions of the messages accepted,
    # so that the other numbers' counts are taken back.
    positions: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Replay:
    """The request_id was seen within 24 hours: the first answer, and whether the request was the same."""

    result: dict[str, Any]
    same_request: bool


@dataclass(frozen=True, slots=True)
class Refused:
    # "quota": the sub-account's balance cannot cover the fee; "opted_out", "limits": no number left
    reason: str
    opted_out: list[str] = field(default_factory=list)
    # Every number skipped, as `failed` would have listed them: the first one's status is the answer.
    failed: list[dict[str, str]] = field(default_factory=list)


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


# On the driver: SQLAlchemy renders an expanding IN list of 900 numbers for every execution, which costs
# more than the lookup (a marketing send of 5,000 numbers makes six).
_OPTED_OUT = f"SELECT mobile FROM {optouts.name} WHERE account_id = ? AND mobile IN ({{ids}})"


def _opted_out(conn: sa.Connection, account_id: int, mobiles: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(set(mobiles))):
        found.update(execute_for_ids(conn, _OPTED_OUT, chunk, account_id).scalars())
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
_SEND_COLUMNS = ("id", "customer_id", "account_id", "count", "fee", "request_id", "created_at")
_LAST_SEND_ID = f"SELECT coalesce(max(id), 0) FROM {sends.name}"
_BALANCES = f"SELECT id, totalnum - usednum FROM {accounts.name} WHERE id IN ({{ids}})"
_ADD_USED = f"UPDATE {accounts.name} SET usednum = usednum + ? WHERE id = ?"
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


# PostgreSQL takes the rows as one array per column: one statement, where an executemany is one
# statement per row on the server (a third of its time accepting 5,000-number sends). The arrays go in
# the binary format (%b): psycopg writes a text array in Python, quoting and escaping each element,
# 10 to 60 times slower (23 ms for 5,000 contents).
_COLUMN_ARRAYS = ", ".join(
    f"%b::{kind}[]"
    for kind in ("bigint", "int", "int", "text", "text", "text", "smallint", "text", "text", "bigint")
)
_INSERT_COLUMNS = ", ".join(_MESSAGE_COLUMNS)
_INSERT_MESSAGES_ARRAYS = (
    f"INSERT INTO {messages.name} ({_INSERT_COLUMNS}) SELECT * FROM unnest({_COLUMN_ARRAYS})"
)


def _insert_messages(conn: sa.Connection, rows: list[tuple[object, ...]]) -> None:
    # Straight to the driver: for 5,000 rows, SQLAlchemy's per-row parameter handling costs more than
    # the insert itself.
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            _INSERT_MESSAGES_ARRAYS, tuple(list(column) for column in zip(*rows, strict=True))
        )
    else:
        insert_rows(conn, messages.name, _MESSAGE_COLUMNS, rows)


# A message row's (created_at, customer_id, carrier, kind): what the traffic figures count it by.
_TALLY_KEY = operator.itemgetter(9, 1, 7, 5)


class _Quota:
    """The quota debits of a batch of acceptances, judged request by request in order.

    On SQLite the writer holds the database's one write lock from its BEGIN IMMEDIATE to the commit, so
    the balances read once are the balances: each request is judged against them here, and the sums
    are written with one statement per sub-account (a conditional UPDATE per request was a tenth of
    the writer's time, and a GIL hand-off each). Elsewhere (PostgreSQL: other writers at the same time)
    each debit is the conditional UPDATE that judges it in the database.
    """

    __slots__ = ("_account_ids", "_conn", "_left", "_local", "_taken")

    def __init__(self, conn: sa.Connection, requests: Sequence[SendRequest]) -> None:
        self._conn = conn
        self._local = conn.dialect.name == "sqlite"
        self._account_ids = {req.account_id for req in requests}
        self._left: dict[int, int] | None = None  # read at the first debit
        self._taken: dict[int, int] = {}

    def take(self, account_id: int, fee: int) -> bool:
        """Debits `fee` from the sub-account if its balance covers it."""
        if not self._local:
            return bool(self._conn.execute(_DEBIT, {"account": account_id, "fee": fee}).rowcount)
        if self._left is None:
            self._left = {}
            for chunk in chunks(sorted(self._account_ids)):
                self._left.update((row[0], row[1]) for row in execute_for_ids(self._conn, _BALANCES, chunk))
        left = self._left.get(account_id)
        if left is None or fee > left:
            return False
        self._left[account_id] = left - fee
        self._taken[account_id] = self._taken.get(account_id, 0) + fee
        return True

    def write(self) -> None:
        """Stores the debits judged here (on SQLite)."""
        if self._taken:
            self._conn.exec_driver_sql(
                _ADD_USED, [(fee, account) for account, fee in sorted(self._taken.items())]
            )
            self._taken = {}


def _insert_sends(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """The sends' rows inserted, and their ids in order. On SQLite, under the writer's lock, the ids
    are the ones the database would give (one past the largest) and go in with the rows: one statement
    and no RETURNING row to step through per send."""
    if conn.dialect.name != "sqlite":
        return list(conn.execute(_INSERT_SEND, rows).scalars().all())
    first = int(conn.exec_driver_sql(_LAST_SEND_ID).scalar_one()) + 1
    ids = list(range(first, first + len(rows)))
    insert_rows(
        conn,
        sends.name,
        _SEND_COLUMNS,
        [
            (send_id, *(row[name] for name in _SEND_COLUMNS[1:]))
            for send_id, row in zip(ids, rows, strict=True)
        ],
    )
    return ids


_STORE_RESPONSE = (
    sa.update(sends).where(sends.c.id == sa.bindparam("send")).values(response=sa.bindparam("payload"))
)


def accept_send(conn: sa.Connection, req: SendRequest) -> SendOutcome:
    return accept_sends(conn, [req])[0]


def accept_sends(
    conn: sa.Connection, requests: Sequence[SendRequest], history: SendHistory = STORED_HISTORY
) -> list[SendOutcome]:
    """Accepts many sends in a handful of statements: the hot path under concurrent load.

    Each request is judged on its own, in order (its numbers within the frequency limits, counting
    the requests accepted before it; its quota debit succeeds or not); the messages of all accepted
    requests are inserted together.
    """
    outcomes: list[SendOutcome | None] = [None] * len(requests)
    batches: list[list[NewMessage]] = []
    skipped: list[list[tuple[int, dict[str, str]]]] = []
    opted: list[list[str]] = []
    debits: list[int] = []
    fees: dict[int, int] = {}
    sent = _sent_before(conn, requests, history)
    quota = _Quota(conn, requests)
    for index, req in enumerate(requests):
        replay = (
            find_replay(conn, req.customer_id, req.request_id, req.fingerprint, req.now, release_expired=True)
            if req.request_id
            else None
        )
        if replay is not None:
            outcomes[index] = replay
            batches.append([])
            skipped.append([])
            opted.append([])
            continue
        within, failed = _within_limits(req, sent)
        batch, opted_out = _without_opted_out(conn, req, within)
        batches.append(batch)
        skipped.append(failed)
        opted.append(opted_out)
        if not batch:
            reason = "opted_out" if opted_out else "limits"
            outcomes[index] = Refused(reason, opted_out, _failures(req, failed, opted_out))
            continue
        fee = sum(m.segments for m in batch)
        if not quota.take(req.account_id, fee):
            outcomes[index] = Refused("quota", opted_out, _failures(req, failed, opted_out))
            continue
        debits.append(index)
        fees[index] = fee
        if req.limits and req.within is None:
            # The requests after this one count its messages too.
            hits = [((req.account_id, m.kind, m.mobile), req.now) for m in batch if m.kind in req.limits]
            for key, at in hits:
                sent.setdefault(key, []).append(at)
            history.record(conn, hits)
    if not debits:
        return [o for o in outcomes if o is not None]
    quota.write()

    send_ids = _insert_sends(
        conn,
        [
            {
                "customer_id": requests[i].customer_id,
                "account_id": requests[i].account_id,
                "count": len(batches[i]),
                "fee": fees[i],
                "request_id": requests[i].request_id or None,
                "created_at": requests[i].now,
            }
            for i in debits
        ],
    )
    pins = pins_for(conn, [m.mobile for i in debits for m in batches[i]])
    rows: list[tuple[object, ...]] = []
    for i, send_id in zip(debits, send_ids, strict=True):
        req = requests[i]
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
                _QUEUED,
                req.now,
            )
            for m in batches[i]
        )
        failures = _failures(req, skipped[i], opted[i]) if skipped[i] or opted[i] or req.failed else []
        answer = send_answer(req.account_id, send_id, len(batches[i]), fees[i], failures)
        positions = frozenset(m.position for m in batches[i]) if req.within is not None else frozenset()
        outcomes[i] = Accepted(answer, positions)
    _insert_messages(conn, rows)
    # The traffic figures, counted once for the whole batch, by second of acceptance.
    by_second: dict[int, dict[tuple[int, str, str], int]] = {}
    for (now, customer_id, carrier, kind), n in Counter(map(_TALLY_KEY, rows)).items():
        by_second.setdefault(now, {})[customer_id, carrier, kind] = n
    tally = Tally()
    for now, counts in by_second.items():
        tally.accepted(now, counts)
    tally.write(conn)
    responses = [
        {"send": send_id, "payload": _replay_payload(requests[i], outcomes[i])}
        for i, send_id in zip(debits, send_ids, strict=True)
        if requests[i].request_id
    ]
    if responses:
        conn.execute(_STORE_RESPONSE, responses)
    return [o for o in outcomes if o is not None]


def _sent_before(
    conn: sa.Connection, requests: Sequence[SendRequest], history: SendHistory
) -> dict[NumberKey, list[int]]:
    """The earlier sends the batch's frequency limits count: one look-up for all its requests."""
    limited = [req for req in requests if req.limits and req.within is None]
    mobiles = {m.mobile for req in limited for m in req.messages if m.kind in req.limits}
    if not mobiles:
        return {}
    since = min(
        req.now - max((limit.window_seconds for kind in req.limits.values() for limit in kind), default=0)
        for req in limited
    )
    return history.sent(conn, {req.account_id for req in limited}, mobiles, since)


def _within_limits(
    req: SendRequest, sent: Mapping[NumberKey, list[int]]
) -> tuple[list[NewMessage], list[tuple[int, dict[str, str]]]]:
    """The request's messages within the frequency limits, and the skipped numbers with their positions.

    A number twice in one request counts twice: each message counts the ones before it.
    """
    if not req.limits:
        return list(req.messages), []
    status, msg = req.frequency_error
    within: list[NewMessage] = []
    failed: list[tuple[int, dict[str, str]]] = []
    if req.within is not None:
        for m, allowed in zip(req.messages, req.within, strict=True):
            if allowed:
                within.append(m)
            else:
                failed.append((m.position, skipped_number(m.mobile, status, msg)))
        return within, failed
    added: dict[NumberKey, int] = {}
    for m in req.messages:
        limits = req.limits.get(m.kind)
        if limits is None:
            within.append(m)
            continue
        key = (req.account_id, m.kind, m.mobile)
        times: Sequence[int] = sent.get(key, ())
        extra = added.get(key, 0)
        if extra:
            times = [*times, *([req.now] * extra)]
        if within_limits(times, limits, req.now):
            within.append(m)
            added[key] = extra + 1
        else:
            failed.append((m.position, skipped_number(m.mobile, status, msg)))
    return within, failed


def _failures(
    req: SendRequest, over_limits: list[tuple[int, dict[str, str]]], opted_out: list[str]
) -> list[dict[str, str]]:
    """The skipped numbers as the answer lists them: in request order, then the opted-out ones."""
    failed = list(req.failed)
    if over_limits:
        at = list(req.failed_at) or [-1] * len(failed)
        merged = sorted([*zip(at, failed, strict=True), *over_limits], key=operator.itemgetter(0))
        failed = [entry for _, entry in merged]
    status, msg = req.opted_out_error
    return [*failed, *(skipped_number(m, status, msg) for m in opted_out)]


def _without_opted_out(
    conn: sa.Connection, req: SendRequest, batch: list[NewMessage]
) -> tuple[list[NewMessage], list[str]]:
    marketing = [m.mobile for m in batch if m.kind == MARKETING]
    if not marketing:
        return batch, []
    # Marketing is never sent to a number on the sub-account's opt-out list.
    blocked = _opted_out(conn, req.account_id, marketing)
    if not blocked:
        return batch, []
    kept = [m for m in batch if not (m.kind == MARKETING and m.mobile in blocked)]
    return kept, [m.mobile for m in batch if m.kind == MARKETING and m.mobile in blocked]


def _replay_payload(req: SendRequest, outcome: SendOutcome | None) -> str:
    assert isinstance(outcome, Accepted)
    return json.dumps({"fingerprint": req.fingerprint, "result": outcome.result}, ensure_ascii=False)
