"""How many SMS a text costs: 70 characters in one, 67 per segment beyond.

This is the billing count customers see (``fee``), not the wire encoding: every character
counts 1, Chinese or Latin, inside the Basic Multilingual Plane or not. Long texts lose 3
characters per segment to the concatenation header.
"""

from __future__ import annotations

import re

__all__ = ["MULTI_LIMIT", "SINGLE_LIMIT", "count_chars", "count_segments", "split_segments"]

SINGLE_LIMIT = 70
MULTI_LIMIT = 67

# A UTF-16 surrogate pair left as two code points (text decoded with "surrogatepass") is
# still one character to the subscriber.
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_HIGH_SURROGATE = re.compile("[\ud800-\udbff]")


def count_chars(text: str) -> int:
    """Billed characters: one per code point, a stray surrogate pair counting once."""
    if _HIGH_SURROGATE.search(text) is None:
        return len(text)
    return len(text) - len(_SURROGATE_PAIR.findall(text))


def count_segments(text: str) -> int:
    """Segments billed for ``text``: 1 up to 70 characters (an empty text too), else ceil(n/67)."""
    chars = count_chars(text)
    if chars <= SINGLE_LIMIT:
        return 1
    return -(-chars // MULTI_LIMIT)


def split_segments(text: str) -> list[str]:
    """``text`` cut into the segments ``count_segments`` bills: one, or chunks of 67 characters.

    Never cuts inside a character, a stray surrogate pair included.
    """
    if count_chars(text) <= SINGLE_LIMIT:
        return [text]
    if _HIGH_SURROGATE.search(text) is None:
        return [text[i : i + MULTI_LIMIT] for i in range(0, len(text), MULTI_LIMIT)]
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = start
        for _ in range(MULTI_LIMIT):
            if end >= len(text):
                break
            end += 2 if _SURROGATE_PAIR.match(text, end) else 1
        chunks.append(text[start:end])
        start = end
    return chunks
