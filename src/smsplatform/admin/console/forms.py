"""Reading what an operator typed into a form or a search: whole numbers, local times, lists.

Bad input raises ValueError with a message naming the field, which the page shows (400).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime

from starlette.datastructures import FormData, QueryParams

Values = FormData | QueryParams | Mapping[str, str]

_TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


def text(values: Values, name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional_text(values: Values, name: str) -> str | None:
    return text(values, name) or None


def optional_int(values: Values, name: str, *, label: str | None = None) -> int | None:
    raw = text(values, name).replace(",", "").replace("_", "")
    if not raw:
        return None
    if not re.fullmatch(r"-?\d{1,19}", raw):
        raise ValueError(f"{label or name}: a whole number, not {raw[:30]!r}")
    return int(raw)


def required_int(values: Values, name: str, *, label: str | None = None) -> int:
    value = optional_int(values, name, label=label)
    if value is None:
        raise ValueError(f"{label or name}: required")
    return value


def optional_time(values: Values, name: str, *, label: str | None = None) -> int | None:
    """A local date or date and time (as `<input type=datetime-local>` sends it) as unix seconds."""
    raw = text(values, name)
    if not raw:
        return None
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.strptime(raw, fmt)
        except ValueError:
            continue
        return int(time.mktime(parsed.timetuple()))
    raise ValueError(f"{label or name}: a date and time like 2025-01-31T08:00, not {raw[:30]!r}")


def time_input(ts: int | None) -> str:
    """Unix seconds as a `datetime-local` input's value (local time)."""
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M", time.localtime(ts))


def ids(values: FormData, name: str) -> list[int]:
    """The ids of ticked checkboxes."""
    found = []
    for raw in values.getlist(name):
        if isinstance(raw, str) and raw.strip().isdigit():
            found.append(int(raw.strip()))
    return found


def words(raw: str) -> list[str]:
    """Items typed one a line or separated by commas (IP lists, word lists, connector names)."""
    return [item.strip() for item in re.split(r"[\n,，]", raw) if item.strip()]


def checkbox(values: Values, name: str) -> bool:
    return text(values, name) in {"1", "on", "true", "yes"}
