"""The management API's resources, one module per subject, each listing its `ENDPOINTS`."""

from __future__ import annotations

from smsplatform.admin.api.endpoint import Endpoint
from smsplatform.admin.api.resources import (
    accounts,
    audit,
    callbacks,
    connectors,
    customers,
    dashboard,
    messages,
    operators,
    platform,
    review,
    routing,
    templates,
    words,
)

ENDPOINTS: list[Endpoint] = [
    *dashboard.ENDPOINTS,
    *customers.ENDPOINTS,
    *accounts.ENDPOINTS,
    *templates.ENDPOINTS,
    *review.ENDPOINTS,
    *messages.ENDPOINTS,
    *callbacks.ENDPOINTS,
    *connectors.ENDPOINTS,
    *routing.ENDPOINTS,
    *words.ENDPOINTS,
    *platform.ENDPOINTS,
    *audit.ENDPOINTS,
    *operators.ENDPOINTS,
]
