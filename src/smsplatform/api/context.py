"""What every handler needs: settings, the database, the cached configuration and the in-memory limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smsplatform.config import Settings
from smsplatform.domain.frequency import Limit, SlidingWindowCounter
from smsplatform.store.catalog import Catalog, CustomerView, Snapshot
from smsplatform.store.database import Database


@dataclass
class ApiContext:
    settings: Settings
    db: Database
    catalog: Catalog
    # Frequency limits per (sub-account, kind, number), per caller IP, and per appkey per day.
    frequency: SlidingWindowCounter = field(default_factory=SlidingWindowCounter)
    ip_hits: SlidingWindowCounter = field(default_factory=SlidingWindowCounter)
    daily_requests: SlidingWindowCounter = field(default_factory=SlidingWindowCounter)
    # Called after messages were committed to the outbox: wakes the dispatchers up.
    on_accepted: Callable[[], None] = lambda: None

    @property
    def ip_limits(self) -> tuple[Limit, ...]:
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
