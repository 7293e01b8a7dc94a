"""Signatures 【XXX】: their form, and finding the one a message carries.

The signature names the sub-account that sends, so finding it is the first step of a send.
"""

from __future__ import annotations

import re
from enum import Enum

__all__ = [
    "LINE_BREAKS",
    "SIGNATURE_PATTERN",
    "SignatureError",
    "is_valid_signature",
    "split_signature",
]

#: Every character ``str.splitlines`` breaks on; signatures and template variables stay on one line.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

_INNER = f"[^【】{LINE_BREAKS}]{{2,12}}"

#: 【 + 2-12 characters (no 【, 】 or line break) + 】.
SIGNATURE_PATTERN = re.compile(f"【{_INNER}】")


class SignatureError(Enum):
    """Why no signature could be taken from a content; the API answers 211 or 212."""

    MISSING = 211
    MALFORMED = 212


def is_valid_signature(s: str) -> bool:
    """True when ``s`` is exactly one well-formed signature, brackets included."""
    return SIGNATURE_PATTERN.fullmatch(s) is not None


def split_signature(content: str) -> tuple[str, str] | SignatureError:
    """``(signature, text)``: the signature at the head or tail of ``content``, and the rest.

    Surrounding whitespace is ignored, and the remaining text is stripped too, so
    ``【A公司】 您好`` and ``您好【A公司】`` both give ``您好``. When both ends carry a
    valid signature the head one is the signature (the usual place in China) and the tail
    stays part of the text. A valid signature at one end wins over a broken one at the other.

    MALFORMED when an end starts or finishes with a bracket that does not make a valid
    signature (1 or 13+ characters, unclosed, nested), or when brackets are left unbalanced
    (``您好【A公司``): the sender clearly tried to sign. MISSING otherwise.
    """
    stripped = content.strip()
    head = SIGNATURE_PATTERN.match(stripped)
    if head is not None:
        return head.group(), stripped[head.end() :].strip()
    # No 【 inside a signature, so a tail signature can only start at the last 【.
    last_open = stripped.rfind("【")
    if last_open > 0 and SIGNATURE_PATTERN.fullmatch(stripped, last_open) is not None:
        return stripped[last_open:], stripped[:last_open].strip()
    if _looks_signed(stripped):
        return SignatureError.MALFORMED
    return SignatureError.MISSING


def _looks_signed(text: str) -> bool:
    """A bracket at an end, or an opening bracket never closed, or a closing one never opened."""
    if not text:
        return False
    if text[0] in "【】" or text[-1] in "【】":
        return True
    last_open = text.rfind("【")
    if last_open != -1 and text.find("】", last_open) == -1:
        return True
    first_close = text.find("】")
    return first_close != -1 and text.rfind("【", 0, first_close) == -1
