"""Accepting a send: the quota debit and one `queued` message per number, in one transaction.

The message table is the outbox that dispatchers claim from; once `accept_send` has committed, the
messages exist and will be delivered whatever process dies next.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.templates import TemplateKind
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
    conn: sa.Connection, customer_id: int, request_id: str, fingerprint: str, now: int
) -> Replay | None:
    row = conn.execute(
        sa.select(sends.c.id, sends.c.response, sends.c.created_at).where(
            sends.c.customer_id == customer_id, sends.c.request_id == request_id
        )
    ).first()
    if row is None:
        return None
    if row.created_at < now - IDEMPOTENCY_SECONDS or row.response is None:
        # Expired: the key may be used again.
        conn.execute(sa.update(sends).where(sends.c.id == row.id).values(request_id=None))
        return None
    stored = json.loads(row.response)
    return Replay(stored["result"], stored["fingerprint"] == fingerprint)


def _opted_out(conn: sa.Connection, account_id: int, mobiles: Sequence[str]) -> set[str]:
    wanted = sorted(set(mobiles))
    found: set[str] = set()
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        query = sa.select(optouts.c.mobile).where(
            optouts.c.account_id == account_id, optouts.c.mobile.in_(chunk)
        )
        found.update(conn.execute(query).scalars())
    return found


def accept_send(conn: sa.Connection, req: SendRequest) -> SendOutcome:
    if req.request_id:
        replay = find_replay(conn, req.customer_id, req.request_id, req.fingerprint, req.now)
        if replay is not None:
            return replay
    batch = list(req.messages)
    opted_out: list[str] = []
    marketing = [m.mobile for m in batch if m.kind == MARKETING]
    if marketing:  # marketing is never sent to a number on the sub-account's opt-out list
        blocked = _opted_out(conn, req.account_id, marketing)
        if blocked:
            opted_out = [m.mobile for m in batch if m.kind == MARKETING and m.mobile in blocked]
            batch = [m for m in batch if not (m.kind == MARKETING and m.mobile in blocked)]
    if not batch:
        return Refused("opted_out", opted_out)
    fee = sum(m.segments for m in batch)
    debited = conn.execute(
        sa.update(accounts)
        .where(accounts.c.id == req.account_id, accounts.c.usednum + fee <= accounts.c.totalnum)
        .values(usednum=accounts.c.usednum + fee)
    ).rowcount
    if not debited:
        return Refused("quota", opted_out)
    send_id = conn.execute(
        sa.insert(sends).values(
            customer_id=req.customer_id,
            account_id=req.account_id,
            count=len(batch),
            fee=fee,
            request_id=req.request_id or None,
            created_at=req.now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    result: dict[str, Any] = {
        "count": str(len(batch)),
        "accountid": str(req.account_id),
        "msgid": str(send_id),
        "fee": str(fee),
    }
    status, msg = req.opted_out_error
    failed = [*req.failed, *({"mobile": m, "status": status, "msg": msg} for m in opted_out)]
    if failed:
        result["failed"] = failed
    if req.request_id:
        payload = json.dumps({"fingerprint": req.fingerprint, "result": result}, ensure_ascii=False)
        conn.execute(sa.update(sends).where(sends.c.id == send_id).values(response=payload))
    pins = pins_for(conn, [m.mobile for m in batch])
    conn.execute(
        sa.insert(messages),
        [
            {
                "send_id": send_id,
                "customer_id": req.customer_id,
                "account_id": req.account_id,
                "mobile": m.mobile,
                "content": m.content,
                "kind": m.kind,
                "segments": m.segments,
                "carrier": pins.get(m.mobile, m.carrier),
                "state": "queued",
                "created_at": req.now,
            }
            for m in batch
        ],
    )
    return Accepted(result)
