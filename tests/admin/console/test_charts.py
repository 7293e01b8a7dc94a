"""Server-side SVG charts: well-formed, with axes, ticks on round values and local clock times, a
legend, and a note when there is nothing to draw."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from smsplatform.admin.console.charts import Bars, Series, bar_chart, line_chart, nice_ticks, time_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_ticks_are_round_and_cover_the_values() -> None:
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 12_345)[-1] >= 12_345
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_time_ticks_fall_on_local_clock_times() -> None:
    start = time.mktime((2025, 3, 14, 9, 7, 0, 0, 0, -1))
    ticks, fmt = time_ticks(start, start + 3600)
    assert fmt == "%H:%M" and 3 <= len(ticks) <= 7
    assert all(time.localtime(t).tm_min % 10 == 0 and time.localtime(t).tm_sec == 0 for t in ticks)
    day_ticks, day_fmt = time_ticks(start, start + 30 * 86400)
    assert day_fmt == "%m-%d" and all(time.localtime(t).tm_hour == 0 for t in day_ticks)


def test_a_line_chart_draws_each_series_with_axes_and_a_legend() -> None:
    start = 1_700_000_000 - 1_700_000_000 % 3600
    accepted = Series("accepted", [(start + 60 * i, float(i * 10)) for i in range(60)])
    delivered = Series("delivered <b>", [(start + 60 * i, float(i * 9)) for i in range(60)])
    root = parsed(line_chart([accepted, delivered], title="Last hour", start=start, end=start + 3600))
    assert root.get("role") == "img" and root.get("aria-label") == "Last hour"
    assert len(root.findall(f"{SVG}path")) == 2
    labels = texts(root)
    assert "Last hour" in labels and "accepted" in labels and "delivered <b>" in labels  # escaped, not markup
    assert "600" in labels  # the value axis reaches past the highest point (590)
    assert any(label.count(":") == 1 for label in labels)  # time labels HH:MM


def test_a_chart_without_data_says_so() -> None:
    root = parsed(line_chart([Series("accepted", [])], title="t", start=0, end=3600, no_data="nothing yet"))
    assert "nothing yet" in texts(root)
    assert "nothing yet" in texts(parsed(bar_chart([], [], title="t", no_data="nothing yet")))


def test_a_bar_chart_groups_bars_by_category() -> None:
    root = parsed(
        bar_chart(
            ["mobile", "unicom", "telecom"],
            [Bars("delivered", [90, 40, 10]), Bars("failed", [5, 2, 0])],
            title="By carrier",
        )
    )
    bars = [r for r in root.iter(f"{SVG}rect") if "bar" in (r.get("class") or "")]
    assert len(bars) == 6
    heights = [float(r.get("height") or 0) for r in bars]
    assert heights[0] == max(heights) and heights[5] == 0
    assert {"mobile", "unicom", "telecom", "delivered", "failed"} <= set(texts(root))
