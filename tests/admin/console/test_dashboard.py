"""The dashboard: figures from the rollups, breakdowns per carrier and connector, charts with data,
switched between windows in place (both backends)."""

from __future__ import annotations

import time

from smsplatform.store.database import Database
from smsplatform.store.rollups import Tally
from tests.admin.console.conftest import Browser, World


def traffic(db: Database) -> None:
    """Ten messages to China Mobile two minutes ago: all taken by smsc-1, nine delivered."""
    at = int(time.time()) - 120
    tally = Tally()
    tally.accepted(at, {(1, "mobile", "verification"): 10})
    tally.submitted(at + 1, "smsc-1", [(1, "mobile", "verification", at)] * 10)
    tally.finished(at + 3, [(1, "mobile", "verification", "smsc-1", "delivered", at + 1)] * 9)
    tally.finished(at + 3, [(1, "mobile", "verification", "smsc-1", "undelivered", at + 1)])
    with db.engine.begin() as conn:
        tally.write(conn)


async def test_the_dashboard_shows_today_and_the_last_hour(
    admin: Browser, world: World, db: Database
) -> None:
    traffic(db)
    page = (await admin.get("/")).text
    for section in ('id="today"', 'id="last-hour"'):
        figures = page.split(section, 1)[1].split("</div>\n</div>", 1)[0]
        assert '<div class="value">10</div>' in figures and "90.0%" in figures, section
    by_carrier = page.split('id="today-by-carrier"', 1)[1].split("</table>", 1)[0]
    assert "China Mobile" in by_carrier and "90.0%" in by_carrier
    assert "smsc-1" in page.split('id="today-by-connector"', 1)[1].split("</table>", 1)[0]


async def test_charts_have_data_and_switch_windows_in_place(
    admin: Browser, world: World, db: Database
) -> None:
    traffic(db)
    page = (await admin.get("/?window=1h")).text
    charts = page.split('id="charts"', 1)[1]
    assert charts.count("<svg") == 3 and '<path class="series s0"' in charts
    assert "No traffic in this window" not in charts.split("</svg>", 1)[0]
    fragment = await admin.get("/dashboard/charts?window=30d", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<section id="charts"')
    assert "30 days" in fragment.text and 'aria-selected="true" href="/?window=30d"' in fragment.text
    assert (await admin.get("/?window=2h")).status_code == 400


async def test_a_quiet_platform_says_there_is_no_traffic(admin: Browser, world: World) -> None:
    page = (await admin.get("/")).text
    assert "No traffic in this window" in page and "No traffic yet." in page
