"""The management API's resources, one module per subject, each listing its `ENDPOINTS`."""

from __future__ import annotations

from smsplatform.admin.api.endpoint import Endpoint
from smsplatform.admin.api.resources import audit, operators

ENDPOINTS: list[Endpoint] = [
    *operators.ENDPOINTS,
    *audit.ENDPOINTS,
]
