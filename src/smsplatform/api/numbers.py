"""Integer parameters as clients send them: ASCII digits only, of a sane length."""

from __future__ import annotations

MAX_DIGITS = 12


def ascii_int(raw: str) -> int | None:
    """The value of `raw` when it is 1–12 ASCII digits (surrounding spaces allowed), else None."""
    text = raw.strip()
    if not text or len(text) > MAX_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
