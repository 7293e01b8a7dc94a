"""Canonical text: one form for texts that look alike, so that look-alikes cannot pass for each other.

Signatures, company names and template texts are compared or matched in their canonical form:
invisible characters removed (Unicode category Cf: zero-width spaces and joiners, bidi controls,
the soft hyphen, the BOM, tags..., and the other default-ignorable code points such as variation
selectors and Hangul fillers), then Unicode NFKC (full-width and compatibility forms become their
plain twins). Control characters (category Cc) are not canonicalised away: they are refused where a
text is taken in, so they are never stored.
"""

from __future__ import annotations

import re
import sys
import unicodedata

__all__ = [
    "INVISIBLE",
    "INVISIBLE_CLASS",
    "canonical_text",
    "has_control",
    "has_invisible",
    "remove_invisible",
]


def _format_characters() -> set[int]:
    # Cf characters live in planes 0, 1 and 14 (tags); the other planes hold ideographs, private
    # use and unassigned code points. Scanning three planes takes milliseconds, all of Unicode ten times that.
    planes = (range(0x0000, 0x20000), range(0xE0000, 0xF0000))
    return {cp for plane in planes for cp in plane if unicodedata.category(chr(cp)) == "Cf"}


# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt) beyond category Cf: characters
# that render as nothing. Unassigned ones are included so that a future assignment stays invisible.
_DEFAULT_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)

#: Every code point removed from a text before it is compared: category Cf and default-ignorable.
INVISIBLE: frozenset[int] = frozenset(
    _format_characters().union(*(range(low, high + 1) for low, high in _DEFAULT_IGNORABLE_RANGES))
)


def _character_class(codepoints: frozenset[int]) -> str:
    """The inside of a regex ``[...]`` matching exactly ``codepoints``, as ranges."""
    ordered = sorted(codepoints)
    parts: list[str] = []
    start = previous = ordered[0]
    for cp in [*ordered[1:], sys.maxunicode + 2]:
        if cp != previous + 1:
            parts.append(
                re.escape(chr(start))
                if start == previous
                else f"{re.escape(chr(start))}-{re.escape(chr(previous))}"
            )
            start = cp
        previous = cp
    return "".join(parts)


#: The inside of a regex character class of the invisible characters (to build patterns with).
INVISIBLE_CLASS = _character_class(INVISIBLE)
_INVISIBLE = re.compile(f"[{INVISIBLE_CLASS}]")

# Category Cc: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# The same without the line feed and carriage return a multi-line text legitimately holds
# (a browser's form posts a textarea's lines as CR LF).
_CONTROL_BUT_LINE_BREAKS = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control(text: str, *, line_breaks: bool = False) -> bool:
    """True when ``text`` holds a control character (category Cc).

    With ``line_breaks``, ``\\n`` and ``\\r`` are allowed.
    """
    pattern = _CONTROL_BUT_LINE_BREAKS if line_breaks else _CONTROL
    return pattern.search(text) is not None


def has_invisible(text: str) -> bool:
    return _INVISIBLE.search(text) is not None


def remove_invisible(text: str) -> str:
    """``text`` without its invisible characters, nothing else changed."""
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def canonical_text(text: str) -> str:
    """Invisible characters removed, then NFKC (full-width ``Ａ`` → ``A``, ``，`` → ``,``, ``㈱`` → ``(株)``).

    Removing first lets NFKC compose what an invisible character kept apart (``e``, ZWSP, U+0301).
    Cheap for a text already canonical: two C-level scans and no copy.
    """
    text = remove_invisible(text)
    if not unicodedata.is_normalized("NFKC", text):
        # NFKC maps some visible-looking compatibility forms onto default-ignorable ones (U+FFA0 → U+1160).
        text = remove_invisible(unicodedata.normalize("NFKC", text))
    return text
