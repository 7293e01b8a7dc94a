"""What the commands print: aligned tables for lists, `key: value` lines for one record, local times,
or JSON with `--json`. Never a Python repr."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

# Fields holding unix seconds: shown as local time. Any field ending in `_at` is one too.
TIME_FIELDS = frozenset({"at", "since", "until", "addtime"})
# A table cell longer than this is cut (a record shows it whole).
CELL_WIDTH = 48
EMPTY = "-"


@dataclass(frozen=True)
class Shown:
    """A result and how to show it as text: which columns a table has, a heading, a closing note.

    A result in parts (`sections`, with `data` None) prints each part under its title, and as JSON an
    object of the parts by key.
    """

    data: Any
    columns: Sequence[str] | None = None
    title: str = ""
    note: str = ""
    sections: Mapping[str, Shown] = field(default_factory=dict)


def plain(value: Any) -> Any:
    """`value` as JSON-ready data: dataclasses and mappings as objects, sequences as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def local_time(seconds: int | float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def is_time_field(name: str) -> bool:
    return name in TIME_FIELDS or name.endswith("_at")


def cell(name: str, value: Any) -> str:
    """One value as text on one line."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and is_time_field(name):
        return local_time(value) if value > 0 else EMPTY
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={cell(str(k), v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, list | tuple):
        return ", ".join(cell(name, v) for v in value) or EMPTY
    text = str(value)
    return " ".join(text.split()) if any(c in text for c in "\r\n\t") else text


def width(text: str) -> int:
    """Columns a terminal gives `text`: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str, limit: int = CELL_WIDTH) -> str:
    if width(text) <= limit:
        return text
    kept = []
    used = 0
    for char in text:
        used += width(char)
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> list[str]:
    if not rows:
        return ["(none)"]
    names = list(columns) if columns else [k for k, v in rows[0].items() if not _nested(v)]
    # The last column runs on uncut: nothing after it to keep aligned (findings, errors, changes).
    body = [
        [_cut(cell(n, row.get(n))) for n in names[:-1]] + [cell(names[-1], row.get(names[-1]))]
        for row in rows
    ]
    head = [name.replace("_", " ") for name in names]
    widths = [max(width(row[i]) for row in (head, *body)) for i in range(len(names) - 1)]
    lines = []
    for texts in (head, *body):
        padded = [_pad(text, w) for text, w in zip(texts, widths, strict=False)]
        lines.append("  ".join([*padded, texts[-1]]).rstrip())
    return lines


def _nested(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], Mapping)


def record(data: Mapping[str, Any], indent: str = "") -> list[str]:
    """`key: value` lines; a nested record indented under its key, a nested list as a table."""
    simple = {k: v for k, v in data.items() if not isinstance(v, Mapping) or not v or _flat(v)}
    label = max((width(k) for k in simple), default=0)
    lines = []
    for key, value in data.items():
        if key in simple and not _nested(value):
            lines.append(f"{indent}{_pad(key + ':', label + 1)} {cell(key, value)}")
        elif isinstance(value, Mapping):
            lines.append(f"{indent}{key}:")
            lines.extend(record(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}:")
            lines.extend(indent + "  " + line for line in table(value))
    return lines


def _flat(value: Mapping[str, Any]) -> bool:
    """A mapping of a few scalars (limits by kind, options): shown on one line."""
    return len(value) <= 4 and all(not isinstance(v, Mapping | list | tuple) for v in value.values())


def render(shown: Shown) -> list[str]:
    lines = [shown.title] if shown.title else []
    data = plain(shown.data)
    if isinstance(data, list):
        if data and not isinstance(data[0], Mapping):
            lines.extend(cell("", v) for v in data)
        else:
            lines.extend(table(data, shown.columns))
    elif isinstance(data, Mapping):
        lines.extend(record(data if not shown.columns else {k: data.get(k) for k in shown.columns}))
    elif data is not None:
        lines.append(str(data))
    for i, section in enumerate(shown.sections.values()):
        if i or lines:
            lines.append("")
        lines.extend(render(section))
    if shown.note:
        lines.append(shown.note)
    return lines


def emit(result: Any, as_json: bool, out: TextIO | None = None) -> None:
    """Prints a command's result; a closed pipe is the caller's to handle (BrokenPipeError)."""
    out = out or sys.stdout
    if result is None:
        return
    shown = result if isinstance(result, Shown) else Shown(result)
    if as_json:
        out.write(json.dumps(plain(_json_data(shown)), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write("".join(line + "\n" for line in render(shown)))
    out.flush()


def _json_data(shown: Shown) -> Any:
    if not shown.sections:
        return shown.data
    return {key: _json_data(section) for key, section in shown.sections.items()}
