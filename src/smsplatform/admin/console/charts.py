"""Charts drawn on the server as SVG: lines over time and grouped bars, with axes, ticks and a legend.

No charting library and no script: a chart is markup the page embeds, so it shows with scripts off,
in a screenshot, and with no internet. Colours come from the stylesheet (classes `s0`…`s5`), which
keeps the markup free of inline styles (the console's CSP forbids them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 250
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 34, 46
_COLOURS = 6
# Steps a time axis may tick at (seconds); the first that gives at most `_MAX_TIME_TICKS` ticks wins.
_TIME_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 172800, 432000, 604800)
_MAX_TIME_TICKS = 7


@dataclass(frozen=True, slots=True)
class Series:
    """One line: (unix time, value) points in time order."""

    name: str
    points: Sequence[tuple[float, float]]
    colour: int | None = None  # the stylesheet's s0…s5; None: by position


@dataclass(frozen=True, slots=True)
class Bars:
    """One set of bars: a value per category of the chart."""

    name: str
    values: Sequence[float]
    colour: int | None = None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values from at most `low` to at least `high`, about `count` of them (1, 2, 5 × 10ⁿ apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        low, high = 0.0, 1.0
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.5:
        ticks.append(round(value, 10))
        if value >= high:
            break
        value += step
    return ticks


def time_ticks(start: float, end: float) -> tuple[list[float], str]:
    """Tick times on whole local minutes, hours or days across [start, end], and their label format."""
    span = max(end - start, 60.0)
    step = next((s for s in _TIME_STEPS if span / s <= _MAX_TIME_TICKS), _TIME_STEPS[-1])
    offset = time.localtime(int(start)).tm_gmtoff  # ticks on local clock times, not UTC ones
    first = math.ceil((start + offset) / step) * step - offset
    ticks = []
    at = float(first)
    while at <= end:
        ticks.append(at)
        at += step
    if step >= 86400:
        fmt = "%m-%d"
    elif span > 86400:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%H:%M"
    return ticks, fmt


def value_label(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _open(title: str, width: int, height: int) -> list[str]:
    label = escape(title)
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{label}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
        f'<text class="title" x="{_LEFT}" y="18">{label}</text>',
    ]


def _y_axis(parts: list[str], ticks: list[float], y: Callable[[float], float], width: int) -> None:
    for tick in ticks:
        at = y(tick)
        parts.append(f'<line class="grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>')
        parts.append(
            f'<text x="{_LEFT - 6}" y="{at + 4:.1f}" text-anchor="end">{escape(value_label(tick))}</text>'
        )


def _colour(index: int, colour: int | None) -> str:
    return f"s{(index if colour is None else colour) % _COLOURS}"


def _legend(parts: list[str], entries: Sequence[tuple[str, str]], height: int) -> None:
    x = _LEFT
    parts.append('<g class="legend">')
    for name, colour in entries:
        parts.append(f'<rect class="{colour}" x="{x}" y="{height - 14}" width="10" height="10"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 5}">{escape(name)}</text>')
        x += 24 + 7 * len(name) + 5 * sum(1 for c in name if ord(c) > 0x2E80)  # CJK is wider
    parts.append("</g>")


def _no_data(parts: list[str], text: str, width: int, height: int) -> None:
    parts.append(f'<text class="nodata" x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">')
    parts.append(f"{escape(text)}</text>")


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    start: float,
    end: float,
    no_data: str = "no data",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Markup:
    """Lines over [start, end] (unix seconds), with a value axis from 0 and a time axis in local time."""
    parts = _open(title, width, height)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    values = [v for s in series for _, v in s.points]
    top = max(values, default=0.0)
    ticks = nice_ticks(0.0, top if top > 0 else 1.0)
    y_max = ticks[-1] or 1.0
    span = max(end - start, 1.0)

    def x(at: float) -> float:
        return _LEFT + (at - start) / span * plot_w

    def y(value: float) -> float:
        return _TOP + plot_h - value / y_max * plot_h

    _y_axis(parts, ticks, y, width)
    tick_times, fmt = time_ticks(start, end)
    for at in tick_times:
        px = x(at)
        parts.append(
            f'<line class="axis" x1="{px:.1f}" x2="{px:.1f}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h + 4}"/>'
        )
        label = escape(time.strftime(fmt, time.localtime(at)))
        parts.append(f'<text x="{px:.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{label}</text>')
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}"/>'
    )
    parts.append(f'<line class="axis" x1="{_LEFT}" x2="{_LEFT}" y1="{_TOP}" y2="{_TOP + plot_h}"/>')
    if not values:
        _no_data(parts, no_data, width, height)
    for index, line in enumerate(series):
        colour = _colour(index, line.colour)
        shown = [(at, v) for at, v in line.points if start <= at <= end]
        if not shown:
            continue
        path = " ".join(f"{'L' if i else 'M'}{x(at):.1f},{y(v):.1f}" for i, (at, v) in enumerate(shown))
        parts.append(f'<path class="series {colour}" d="{path}"><title>{escape(line.name)}</title></path>')
        if len(shown) <= 60:  # dots where they can be told apart, each with its value
            for at, v in shown:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
                parts.append(
                    f'<circle class="{colour}" cx="{x(at):.1f}" cy="{y(v):.1f}" r="2.5">'
                    f"<title>{escape(line.name)} {escape(when)}: {escape(value_label(v))}</title></circle>"
                )
    _legend(parts, [(s.name, _colour(i, s.colour)) for i, s in enumerate(series)], height)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    categories: Sequence[str],
    bars: Sequence[Bars],
    *,
    title: str,
    no_data: str = "no data",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Markup:
    """Bars grouped by category (e.g. delivered and failed per carrier), with a value axis from 0."""
    parts = _open(title, width, height)
    plot_w, plot_h = width - _LEFT - _RIGHT, height - _TOP - _BOTTOM
    values = [v for b in bars for v in b.values]
    top = max(values, default=0.0)
    ticks = nice_ticks(0.0, top if top > 0 else 1.0)
    y_max = ticks[-1] or 1.0

    def y(value: float) -> float:
        return _TOP + plot_h - value / y_max * plot_h

    _y_axis(parts, ticks, y, width)
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{_TOP + plot_h}" y2="{_TOP + plot_h}"/>'
    )
    if not categories or not any(values):
        _no_data(parts, no_data, width, height)
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(bars), 1)
    for c_index, category in enumerate(categories):
        left = _LEFT + c_index * group_w + group_w * 0.1
        for b_index, series in enumerate(bars):
            value = series.values[c_index] if c_index < len(series.values) else 0.0
            top_y = y(value)
            colour = _colour(b_index, series.colour)
            parts.append(
                f'<rect class="bar {colour}" x="{left + b_index * bar_w:.1f}" y="{top_y:.1f}" '
                f'width="{max(bar_w - 2, 1):.1f}" height="{_TOP + plot_h - top_y:.1f}">'
                f"<title>{escape(category)} · {escape(series.name)}: {escape(value_label(value))}</title>"
                "</rect>"
            )
        parts.append(
            f'<text x="{_LEFT + (c_index + 0.5) * group_w:.1f}" y="{_TOP + plot_h + 16}" '
            f'text-anchor="middle">{escape(category)}</text>'
        )
    _legend(parts, [(b.name, _colour(i, b.colour)) for i, b in enumerate(bars)], height)
    parts.append("</svg>")
    return Markup("".join(parts))
