"""A process's cached view of the configuration: customers, sub-accounts, template matchers, words, carriers.

The hot path (send) reads nothing but the quota and the outbox from the database. Everything else comes
from here, and here is rebuilt when the configuration version in the database moves (any operator or API
change bumps it), checked at most every `poll_seconds`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from smsplatform.domain.numbers import Carrier, CarrierTable
from smsplatform.domain.signatures import canonical_signature
from smsplatform.domain.templates import TemplateMatcher, TemplateRow
from smsplatform.domain.words import SensitiveWordFilter
from smsplatform.store.accounts import Account, list_accounts
from smsplatform.store.customers import Customer, find_by_appkey_hash
from smsplatform.store.database import Database
from smsplatform.store.routing import list_prefixes
from smsplatform.store.schema import templates
from smsplatform.store.settings import all_settings, config_version
from smsplatform.store.words import list_words


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    accounts: dict[int, Account]
    by_signature: dict[str, Account]
    matchers: dict[int, TemplateMatcher]
    template_kinds: dict[int, str]
    # The appkey it was found by works until then (an old key in a rotation's grace); None: current.
    key_works_until: int | None = None


@dataclass
class Snapshot:
    version: int
    settings: dict[str, str]
    words: SensitiveWordFilter
    carriers: CarrierTable
    # By the appkey's keyed hash: the appkeys themselves are never kept.
    customers: dict[str, CustomerView | None] = field(default_factory=dict)

    @property
    def maintenance(self) -> bool:
        return self.settings.get("maintenance") == "1"

    @property
    def disabled_endpoints(self) -> frozenset[str]:
        return frozenset(e for e in self.settings.get("disabled_endpoints", "").split(",") if e)


def _load_snapshot(conn: sa.Connection) -> Snapshot:
    extra = {prefix: Carrier(carrier) for prefix, carrier in list_prefixes(conn).items()}
    carriers = CarrierTable.default()
    return Snapshot(
        version=config_version(conn),
        settings=all_settings(conn),
        words=SensitiveWordFilter(list_words(conn)),
        carriers=carriers.with_prefixes(extra) if extra else carriers,
    )


def _load_customer(conn: sa.Connection, appkey_hash: str) -> CustomerView | None:
    found = find_by_appkey_hash(conn, appkey_hash, at=int(time.time()))
    if found is None:
        return None
    customer = found.customer
    _, accounts = list_accounts(conn, customer.id)
    rows: dict[int, list[TemplateRow]] = {a.id: [] for a in accounts}
    kinds: dict[int, str] = {}
    if rows:
        query = sa.select(
            templates.c.id, templates.c.account_id, templates.c.content, templates.c.status, templates.c.kind
        ).where(templates.c.account_id.in_(list(rows)))
        for t in conn.execute(query):
            rows[t.account_id].append(TemplateRow(t.id, t.content, t.status))
            kinds[t.id] = t.kind
    return CustomerView(
        customer=customer,
        accounts={a.id: a for a in accounts},
        # Keyed by the canonical form a send's signature is looked up in, whatever form was stored.
        by_signature={canonical_signature(a.signature): a for a in accounts},
        matchers={account_id: TemplateMatcher(r) for account_id, r in rows.items()},
        template_kinds=kinds,
        key_works_until=found.works_until,
    )


_UNSEEN: Any = object()


class Catalog:
    def __init__(self, db: Database, poll_seconds: float) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - self._checked_at < self._poll_seconds:
            return snapshot
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._checked_at < self._poll_seconds:
                return self._snapshot
            version = await self._db.read(config_version)
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = await self._db.read(_load_snapshot)
            self._checked_at = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        """Forget everything: the next request reloads (used after this process changed something)."""
        self._checked_at = 0.0

    async def customer(self, appkey: str) -> tuple[Snapshot, CustomerView | None]:
        """The customer of `appkey`: one keyed hash, then a dict hit (the database only on a miss)."""
        snapshot = await self.current()
        key = self._db.secrets.lookup_hash(appkey)
        view = snapshot.customers.get(key, _UNSEEN)
        if view is _UNSEEN:
            if len(snapshot.customers) > 100_000:  # unknown appkeys must not grow the cache forever
                snapshot.customers.clear()
            view = snapshot.customers[key] = await self._db.read(_load_customer, key)
        if view is not None and view.key_works_until is not None and view.key_works_until <= time.time():
            return snapshot, None  # an old appkey whose grace ran out since it was looked up
        return snapshot, view
