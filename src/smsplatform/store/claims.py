"""Claims on the outbox: leases of queued messages to one dispatcher, and their return.

`claim` moves due `queued` rows to `submitting` under the dispatcher's name until `lease_until`; the
dispatcher renews them while it works on them. A dispatcher that cannot carry some carriers' messages
(every bind of their connectors is leased to other processes) claims with a `CarrierFilter`; the
common claim has none, and its statement stays the plain one.

A dead dispatcher's claims come back by its submit journal when it kept one (`give_back_claims`:
answered ones are recorded, those that never left are queued again, only those on the wire unanswered
count as possibly sent), else by `requeue_expired` once their lease ran out, each counted as possibly
sent (`maybe_sent`): it may have reached the carrier before the process died.

Every function runs inside one `Database.write` and takes a whole batch.
"""

from __future__ import annotations

import json
import operator
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa

from smsplatform.domain.expiry import DEFAULT_MAX_AGES, MaxAges
from smsplatform.domain.message_states import QUEUED, SUBMITTED, SUBMITTING
from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store import partitions
from smsplatform.store.driver import chunks
from smsplatform.store.message_rows import (
    MAYBE_SENT,
    ids_param,
    in_state,
    is_postgres,
    leaving,
    leaving_by_id,
    record_errors,
)
from smsplatform.store.results import record_results
from smsplatform.store.schema import accounts, messages


class ClaimedMessage(NamedTuple):
    """A message leased to one dispatcher, with what it takes to submit it.

    A named tuple, not a dataclass: a claim makes hundreds at a time, and a tuple is built for a
    fraction of a frozen dataclass's cost.
    """

    id: int
    account_id: int
    mobile: str
    content: str
    carrier: str
    segments: int
    attempts: int  # including this one
    created_at: int
    extension: str  # the sub-account's extension code, appended to the connector's source number
    kind: str = "notification"
    # When it expires unsubmitted: acceptance plus its kind's maximum age (None: never).
    expires_at: int | None = None


_first = operator.itemgetter(0)

# The hot path's statements are built once: building a statement costs more than running it.


@dataclass(frozen=True, slots=True)
class CarrierFilter:
    """The carriers whose messages a dispatcher may claim: `only` these when given, else all but
    `excluded`."""

    only: frozenset[str] | None = None
    excluded: frozenset[str] = frozenset()


_CARRIERS_ONLY = messages.c.carrier.in_(sa.bindparam("b_carriers", expanding=True))
_CARRIERS_EXCLUDED = messages.c.carrier.not_in(sa.bindparam("b_carriers", expanding=True))


def _claim_statement(*, postgres: bool, carriers: sa.ColumnElement[bool] | None = None) -> sa.Update:
    due = (
        sa.select(messages.c.id)
        .where(leaving(QUEUED, SUBMITTING), messages.c.next_attempt_at <= sa.bindparam("b_now"))
        # The queued messages' index is in this order: no sort.
        .order_by(messages.c.next_attempt_at, messages.c.id)
        .limit(sa.bindparam("b_limit"))
    )
    if carriers is not None:
        due = due.where(carriers)
    update = sa.update(messages)
    if postgres:
        # Only the live days' partitions (partitions.oldest_live_id up to tomorrow's): planning and
        # scanning every partition of the retention would cost several times the claim itself.
        live = sa.and_(messages.c.id >= sa.bindparam("b_floor"), messages.c.id < sa.bindparam("b_ceiling"))
        # Claimers pass each other by (SKIP LOCKED), and the rows are chosen once: in `id IN (SELECT
        # ...)` PostgreSQL may run the subquery again and lease more than `limit`, or rows locked since.
        chosen = due.where(live).with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        update = update.where(messages.c.id == chosen.c.id, live)
    else:
        update = update.where(messages.c.id.in_(due.scalar_subquery()))
    return update.values(
        state=SUBMITTING.value,
        lease_owner=sa.bindparam("b_owner"),
        lease_until=sa.bindparam("b_until"),
        attempts=messages.c.attempts + 1,
    ).returning(
        messages.c.id,
        messages.c.account_id,
        messages.c.mobile,
        messages.c.content,
        messages.c.carrier,
        messages.c.segments,
        messages.c.attempts,
        messages.c.created_at,
        messages.c.kind,
    )


# By (PostgreSQL, filter): None for no filter, True for `only`, False for `excluded`.
_CLAIMS = {
    (postgres, only): _claim_statement(
        postgres=postgres,
        carriers=None if only is None else _CARRIERS_ONLY if only else _CARRIERS_EXCLUDED,
    )
    for postgres in (False, True)
    for only in (None, True, False)
}
CLAIM = _CLAIMS[False, None]
_EXTENSIONS = sa.select(accounts.c.id, accounts.c.extension, accounts.c.max_age).where(
    accounts.c.id.in_(ids_param())
)


def claim(
    conn: sa.Connection,
    owner: str,
    now: int,
    limit: int,
    lease_seconds: int,
    max_ages: MaxAges = DEFAULT_MAX_AGES,
    carriers: CarrierFilter | None = None,
) -> list[ClaimedMessage]:
    """Lease up to `limit` due queued messages to `owner`, oldest due first (of `carriers` only, when
    given); each says when it expires by its kind's maximum age (`max_ages`, or its sub-account's
    override)."""
    params: dict[str, object] = {
        "b_now": now,
        "b_limit": limit,
        "b_owner": owner,
        "b_until": now + lease_seconds,
    }
    only: bool | None = None
    if carriers is not None and carriers.only is not None:
        if not carriers.only:
            return []
        only, params["b_carriers"] = True, sorted(carriers.only)
    elif carriers is not None and carriers.excluded:
        only, params["b_carriers"] = False, sorted(carriers.excluded)
    postgres = is_postgres(conn)
    if postgres:
        params["b_floor"], params["b_ceiling"] = _live_ids(conn)
    statement = _CLAIMS[postgres, only]
    # Rows of ClaimedMessage's fields in order up to created_at, then the kind: (id, account_id, …).
    rows = sorted(conn.execute(statement, params).all(), key=_first)
    if not rows:
        return []
    extensions: dict[int, str] = {}
    overrides: dict[int, dict[str, int]] = {}
    for chunk in chunks(sorted({row[1] for row in rows})):
        for account_id, extension, max_age in conn.execute(_EXTENSIONS, {"b_ids": chunk}):
            extensions[account_id] = extension
            if max_age and max_age != "{}":
                overrides[account_id] = json.loads(max_age)
    claimed = []
    for *fields, kind in rows:
        account_id, created_at = fields[1], fields[7]
        expires_at = created_at + max_ages.of(kind, overrides.get(account_id))
        claimed.append(ClaimedMessage._make((*fields, extensions.get(account_id, ""), kind, expires_at)))
    return claimed


# Seconds a floor of the live ids is used before it is looked up again.
_FLOOR_SECONDS = 30.0
# Per engine (tests open many databases in one process): (when to look again, floor).
_floors: weakref.WeakKeyDictionary[sa.Engine, tuple[float, int]] = weakref.WeakKeyDictionary()


def _live_ids(conn: sa.Connection) -> tuple[int, int]:
    """The ids a claimable message can have on PostgreSQL: from the oldest partition holding a live
    message (looked up every `_FLOOR_SECONDS`) to the end of tomorrow's. Days by this machine's clock,
    not the claim's `now`: the database's clock stamps the ids, and a day either side covers a skew."""
    today = partitions.day_of(int(time.time()))
    cached = _floors.get(conn.engine)
    if cached is not None and cached[0] > time.monotonic():
        floor = min(cached[1], partitions.first_id_of_day(today - 1))
    else:
        floor = partitions.oldest_live_id(conn, today)
        _floors[conn.engine] = (time.monotonic() + _FLOOR_SECONDS, floor)
    return floor, partitions.first_id_of_day(today + 2)


def renew_leases(conn: sa.Connection, owner: str, until: int, ending_before: int | None = None) -> int:
    """Extend to `until` the leases `owner` holds (those ending before `ending_before`, when given): a
    live dispatcher never loses its claims to `requeue_expired`."""
    where = [in_state(SUBMITTING), messages.c.lease_owner == owner]
    if ending_before is not None:
        where.append(messages.c.lease_until < ending_before)
    result = conn.execute(sa.update(messages).where(*where).values(lease_until=until))
    return int(result.rowcount)


LEASE_RAN_OUT = "lease ran out: the dispatcher holding it stopped answering"
RELEASED = "given back unanswered: the dispatcher was stopping"


def _give_back(*where: sa.ColumnElement[bool], counted: bool = True) -> sa.Update:
    return (
        sa.update(messages)
        .where(leaving(SUBMITTING, QUEUED), *where)
        .values(
            state=QUEUED.value,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=sa.bindparam("b_now"),
            maybe_sent=messages.c.maybe_sent + int(counted),
        )
        .returning(messages.c.id, messages.c.attempts)
    )


_REQUEUE_EXPIRED = _give_back(messages.c.lease_until < sa.bindparam("b_now"))
_REQUEUE_EXPIRED_BUT = _give_back(
    messages.c.lease_until < sa.bindparam("b_now"),
    messages.c.lease_owner.not_in(sa.bindparam("b_keep", expanding=True)),
)
_RELEASE = _give_back(messages.c.lease_owner == sa.bindparam("b_owner"))


def requeue_expired(conn: sa.Connection, now: int, keep: Iterable[str] = ()) -> int:
    """Give back claims whose lease ran out (their dispatcher died); each counts as possibly sent.

    Owners in `keep` are left alone: a live one, or a dead one whose submit journal is at hand and
    tells what became of each claim (`give_back_claims`).
    """
    kept = sorted(keep)
    if kept:
        given_back = conn.execute(_REQUEUE_EXPIRED_BUT, {"b_now": now, "b_keep": kept}).all()
    else:
        given_back = conn.execute(_REQUEUE_EXPIRED, {"b_now": now}).all()
    record_errors(conn, [(i, attempt, "", MAYBE_SENT, LEASE_RAN_OUT, now) for i, attempt in given_back])
    return len(given_back)


def release_leases(conn: sa.Connection, owner: str, now: int) -> int:
    """Give back what `owner` still holds when it stops; each counts as possibly sent, since its
    submit may have been on the wire when the dispatcher gave up waiting for it."""
    given_back = conn.execute(_RELEASE, {"b_now": now, "b_owner": owner}).all()
    record_errors(conn, [(i, attempt, "", MAYBE_SENT, RELEASED, now) for i, attempt in given_back])
    return len(given_back)


# --- claims of a dispatcher that died, by its submit journal ------------------------------------


@dataclass(frozen=True, slots=True)
class JournaledClaims:
    """What a dispatcher's submit journal tells of its claims (see dispatch/submit_journal.py)."""

    owner: str
    answered: Mapping[int, tuple[int, Submitted]]  # message id → (attempt, what the SMSC accepted)
    on_the_wire: Mapping[int, int]  # message id → attempt: written, not wholly answered
    # Every line the owner wrote is here, so that a claim it does not name never left. False when the
    # machine restarted since (lines not yet fsynced may be lost): every claim not answered counts.
    complete: bool = True


@dataclass(frozen=True, slots=True)
class GivenBack:
    submitted: int = 0  # answered by the SMSC: recorded as submitted, not sent again
    unsent: int = 0  # never on the wire (or refused): queued again, not possibly sent
    maybe_sent: int = 0  # on the wire unanswered: queued again, counted in maybe_sent


IN_FLIGHT_AT_CRASH = "on the wire unanswered when its dispatcher stopped"
_CLAIMS_OF = sa.select(messages.c.id, messages.c.attempts).where(
    in_state(SUBMITTING), messages.c.lease_owner == sa.bindparam("b_owner")
)
# Answered claims another machine's dispatcher gave back meanwhile: recorded as submitted from there.
_QUEUED_ATTEMPTS = sa.select(messages.c.id, messages.c.attempts).where(
    messages.c.id.in_(ids_param()), leaving_by_id(QUEUED, to=[SUBMITTED])
)
_THESE_OF_OWNER = (messages.c.id.in_(ids_param()), messages.c.lease_owner == sa.bindparam("b_owner"))
_GIVE_BACK_UNSENT = _give_back(*_THESE_OF_OWNER, counted=False)
_GIVE_BACK_MAYBE_SENT = _give_back(*_THESE_OF_OWNER)


def give_back_claims(conn: sa.Connection, claims: JournaledClaims, now: int) -> GivenBack:
    """Settle every claim `claims.owner` (a dispatcher that stopped) still holds, by its journal.

    Only the attempt the claim is at counts (a line of an earlier claim of the same message says
    nothing of this one). An answered message whose lease another machine's dispatcher gave back
    meanwhile is recorded too, unless it was claimed again.
    """
    held = dict(conn.execute(_CLAIMS_OF, {"b_owner": claims.owner}).all())
    submitted: list[Submitted] = []
    unsent: list[int] = []
    maybe_sent: list[int] = []
    for message_id, attempt in held.items():
        answer = claims.answered.get(message_id)
        if answer is not None and answer[0] == attempt:
            submitted.append(answer[1])
        elif claims.on_the_wire.get(message_id) == attempt or not claims.complete:
            maybe_sent.append(message_id)
        else:
            unsent.append(message_id)
    elsewhere = sorted(set(claims.answered) - held.keys())
    for chunk in chunks(elsewhere):
        for message_id, attempt in conn.execute(_QUEUED_ATTEMPTS, {"b_ids": chunk}):
            if claims.answered[message_id][0] == attempt:
                submitted.append(claims.answered[message_id][1])
    stored = record_results(conn, claims.owner, submitted, now).submitted if submitted else 0
    params = {"b_now": now, "b_owner": claims.owner}
    for chunk in chunks(sorted(unsent)):
        conn.execute(_GIVE_BACK_UNSENT, {**params, "b_ids": chunk}).all()
    errors: list[tuple[int, int, str, str, str, int]] = []
    for chunk in chunks(sorted(maybe_sent)):
        for message_id, attempt in conn.execute(_GIVE_BACK_MAYBE_SENT, {**params, "b_ids": chunk}):
            errors.append((message_id, attempt, "", MAYBE_SENT, IN_FLIGHT_AT_CRASH, now))
    record_errors(conn, errors)
    return GivenBack(stored, len(unsent), len(errors))
