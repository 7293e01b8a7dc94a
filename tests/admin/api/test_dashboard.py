"""The dashboard's figures and chart series through the management API."""

from __future__ import annotations

import time

from tests.admin.api.conftest import Mgmt
from tests.admin.test_dashboard import traffic
from tests.store.test_search import seed


async def test_the_last_hour_and_the_series_show_what_was_sent(mgmt: Mgmt) -> None:
    with mgmt.db.engine.begin() as conn:
        seed(conn)
        traffic(
            conn, int(time.time()), carrier="mobile", connector="cmpp-1", accepted=10, delivered=8, failed=2
        )
    overview = await mgmt.ok("GET", "/dashboard", as_reviewer=True)
    hour = overview["last_hour"]
    assert (hour["accepted"], hour["delivered"], hour["failed"], hour["delivery_rate"]) == (10, 8, 2, 0.8)
    assert ("cmpp-1", 8) in [(b["name"], b["delivered"]) for b in hour["by_connector"]]
    assert abs(overview["at"] - time.time()) < 60
    assert set(overview["queue"]) == {"queued", "submitting", "awaiting_report"}

    series = await mgmt.ok("GET", "/series", params={"window": "1h", "by": "carrier"})
    assert (series["window"], series["period"], len(series["starts"])) == ("1h", 60, 60)
    assert sum(p["accepted"] for p in series["total"]) == 10
    assert [line["name"] for line in series["lines"]] == ["mobile"]
    for params in ({"window": "1y"}, {"window": "1h", "by": "customer"}, {}):
        assert (await mgmt.client.get("/series", params=params)).status_code == 400, params
