"""What every handler needs: settings, the database, the cached configuration and the request limits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from smsplatform.cluster.health import NodeHealth
from smsplatform.cluster.limits import SharedFrequency, SharedRequestLimits
from smsplatform.cluster.shared import SharedState
from smsplatform.config import Settings
from smsplatform.domain.frequency import Limit
from smsplatform.store.catalog import Catalog, CustomerView, Snapshot
from smsplatform.store.database import Database
from smsplatform.store.limits import RequestLimits, StoreRequestLimits


@dataclass
class ApiContext:
    settings: Settings
    db: Database
    catalog: Catalog
    # Called after messages were committed to the outbox: wakes the dispatchers up.
    on_accepted: Callable[[], None] = lambda: None
    # Scaled out: the platform's Redis (None: one node, each process counts for itself).
    shared: SharedState | None = None
    # What /healthz and /readyz report (None: only that the process answers).
    health: NodeHealth | None = None
    # Per caller IP and per appkey a day: in Redis when scaled out, else in the store.
    limits: RequestLimits = field(init=False)
    # The store's counts: `limits` itself on one node; scaled out, the daily count that endpoints
    # other than `send` fall back to while Redis is unreachable (a count of that time alone, not the
    # day's: a customer may then get up to its limit once more). It buffers nothing then, so
    # closing `limits` alone stores all there is.
    store_limits: StoreRequestLimits = field(init=False)
    # Scaled out: the frequency limits per number and the `requestid` claims, decided in Redis before
    # the acceptance. None: the acceptance counts the stored messages.
    frequency: SharedFrequency | None = field(init=False)

    def __post_init__(self) -> None:
        self.store_limits = StoreRequestLimits(self.db)
        if self.shared is None:
            self.limits = self.store_limits
            self.frequency = None
        else:
            self.limits = SharedRequestLimits(self.shared)
            self.frequency = SharedFrequency(self.shared)

    @functools.cached_property
    def ip_limits(self) -> tuple[Limit, ...]:
        """The per-caller limits of `send` (read once: the settings do not change while serving)."""
        limits = []
        if self.settings.ip_limit_per_second > 0:
            limits.append(Limit(1, self.settings.ip_limit_per_second))
        if self.settings.ip_limit_per_minute > 0:
            limits.append(Limit(60, self.settings.ip_limit_per_minute))
        return tuple(limits)


@dataclass(frozen=True)
class Call:
    """One API call after the guard let it through."""

    endpoint: str
    params: dict[str, str]
    snapshot: Snapshot
    view: CustomerView
    client_ip: str

    @property
    def customer_id(self) -> int:
        return self.view.customer.id
