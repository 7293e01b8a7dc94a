"""/dashboard and /series: today's and the last hour's figures, and the chart series, from the
per-period rollups (never a scan of the message table)."""

from __future__ import annotations

from smsplatform.admin import dashboard
from smsplatform.admin.api.endpoint import Endpoint, the_time

_NOW = {"now": the_time}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/dashboard",
        dashboard.overview,
        "Today and the last hour; queue depth, links up and down, callback backlog",
        description="Delivery rates are delivered of final (0–1, null when nothing is final yet); "
        "latencies are medians in milliseconds.",
        supplied=_NOW,
    ),
    Endpoint(
        "GET",
        "/series",
        dashboard.series,
        "Figures per period for a chart: per minute over 1h, per hour over 24h, per day over 30d",
        supplied=_NOW,
        params={
            "window": "1h, 24h or 30d",
            "by": "carrier or connector: one line each; leave out for totals",
        },
    ),
]
