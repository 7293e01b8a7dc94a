"""How results read on a terminal: aligned columns (wide characters count two), local times, no reprs."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass

from smsplatform.cli.output import Shown, emit, local_time, render, width


@dataclass(frozen=True)
class Row:
    id: int
    name: str
    enabled: bool
    created_at: int
    expires_at: int | None
    ips: tuple[str, ...]
    limits: dict[str, str]


ROWS = [
    Row(1, "进制数据", True, 1796645569, None, ("10.0.0.1/32",), {"marketing": "2/d"}),
    Row(22, "acme", False, 1796645570, 1896134399, (), {}),
]


def test_tables_align_wide_characters() -> None:
    lines = render(Shown(ROWS))
    assert lines[0].split() == ["id", "name", "enabled", "created", "at", "expires", "at", "ips", "limits"]
    starts = {line.index("yes") if "yes" in line else line.index("no ") for line in lines[1:]}
    assert (
        len({width(line[: line.index(" y") if " yes" in line else line.index(" no")]) for line in lines[1:]})
        == 1
    )
    assert len(starts) == 2  # the same column, reached after a different number of characters
    assert local_time(1796645569) in lines[1] and "-" in lines[1].split()
    assert "marketing=2/d" in lines[1] and "10.0.0.1/32" in lines[1]
    assert all("None" not in line and "(" not in line for line in lines)


def test_one_record_as_key_value_lines() -> None:
    lines = render(Shown(ROWS[1]))
    assert lines[0] == "id:         22"
    assert "enabled:    no" in lines and f"expires_at: {local_time(1896134399)}" in lines
    assert "ips:        -" in lines and "limits:     -" in lines


def test_local_time_is_the_machines() -> None:
    assert local_time(0) == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(0))


def test_json_keeps_the_data() -> None:
    out = io.StringIO()
    emit(Shown(ROWS, columns=("id",)), True, out)
    assert json.loads(out.getvalue())[0] == {
        "id": 1,
        "name": "进制数据",
        "enabled": True,
        "created_at": 1796645569,
        "expires_at": None,
        "ips": ["10.0.0.1/32"],
        "limits": {"marketing": "2/d"},
    }


def test_long_cells_are_cut_but_not_the_last_column() -> None:
    rows = [{"content": "字" * 100, "findings": "x" * 200}]
    line = render(Shown(rows))[1]
    assert "…" in line and line.endswith("x" * 200)
    assert render(Shown([])) == ["(none)"]
    assert render(Shown([{"text": "two\nlines"}]))[1] == "two lines"
