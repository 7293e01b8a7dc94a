"""How values read on the console's pages: local times, grouped numbers, rates, durations."""

from __future__ import annotations

import json
import time
from typing import Any

from smsplatform.admin.audit import MASK


def local_time(ts: int | float | None) -> str:
    """`YYYY-MM-DD HH:MM:SS` in the server's local time ("" for no time)."""
    if ts is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(ts)))


def zone() -> str:
    """The server's time zone as the pages name it (e.g. `CST, UTC+08:00`)."""
    offset = time.localtime().tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"{time.strftime('%Z')}, UTC{sign}{hours:02d}:{minutes:02d}"


def number(value: int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    """A share (0..1) as a percentage; "–" when there is nothing to divide."""
    if value is None:
        return "–"
    return f"{value * 100:.1f}%"


def duration_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    if ms < 1000:
        # The store keeps times to the second: below one, a figure would only be the interpolation.
        return "< 1 s"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def duration_s(seconds: float | None) -> str:
    return "–" if seconds is None else duration_ms(seconds * 1000)


def secret(value: str | None) -> str:
    return MASK if value else ""


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(before: str, after: str) -> list[tuple[str, str | None, str | None]]:
    """An audit entry's change as (field, old, new), only the fields that changed; a creation has no
    old values, a removal no new ones."""
    old = _decoded(before)
    new = _decoded(after)
    keys = list(dict.fromkeys([*old, *new]))
    return [
        (key, _plain(old[key]) if key in old else None, _plain(new[key]) if key in new else None)
        for key in keys
        if old.get(key, ...) != new.get(key, ...)
    ]


def _decoded(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"": text}
    return value if isinstance(value, dict) else {"": value}
