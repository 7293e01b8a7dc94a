"""What every handler needs: settings, the database, the cached configuration and the request limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smsplatform.cluster.health import NodeHealth
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
    # Per caller IP and per appkey a day; the frequency limits per number are the acceptance's.
    limits: RequestLimits = field(init=False)

    def __post_init__(self) -> None:
        self.limits = StoreRequestLimits(self.db)

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
