"""Signatures 【XXX】: their form, their canonical form, and finding the one a message carries.

The signature names the sub-account that sends, so finding it is the first step of a send. Two
signatures that look alike are one: a signature is stored and compared in its canonical form
(``domain.canonical``: invisible characters removed, NFKC), which holds no whitespace, no control
and no invisible character, so ``【甲公司\\u200b】`` and ``【甲公司】`` name the same sub-account.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import NamedTuple

from smsplatform.domain.canonical import INVISIBLE_CLASS, canonical_text, has_control, remove_invisible

__all__ = [
    "LINE_BREAKS",
    "SIGNATURE_PATTERN",
    "SignatureError",
    "Signed",
    "canonical_signature",
    "is_valid_signature",
    "split_signature",
    "take_signature",
]

#: Every character ``str.splitlines`` breaks on; signatures and template variables stay on one line.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

# A character a canonical signature may hold: not a bracket, whitespace (line breaks included),
# a control or an invisible character.
_SIGNATURE_CHAR = f"[^【】\\s\x00-\x1f\x7f-\x9f{INVISIBLE_CLASS}]"

#: A canonical signature: 【 + 2-12 visible characters, no whitespace + 】.
SIGNATURE_PATTERN = re.compile(f"【{_SIGNATURE_CHAR}{{2,12}}】")

# A signature as written in a content: invisible characters may sit anywhere inside and do not
# count; controls are taken in here so that they are refused as such (232), not as a missing one.
_WRITTEN_CHAR = f"[^【】\\s{INVISIBLE_CLASS}]"
_WRITTEN = f"【(?:[{INVISIBLE_CLASS}]*{_WRITTEN_CHAR}){{2,12}}[{INVISIBLE_CLASS}]*】"
# Whitespace and invisible characters between the signature and the content's end belong to neither.
_EDGE = f"[\\s{INVISIBLE_CLASS}]*"
_HEAD = re.compile(f"{_EDGE}({_WRITTEN})")
_TAIL = re.compile(f"({_WRITTEN}){_EDGE}")
_EDGE_RUN = re.compile(_EDGE)


class SignatureError(Enum):
    """Why no signature could be taken from a content; the API answers 211, 212 or 232."""

    MISSING = 211
    MALFORMED = 212
    CONTROL = 232


def canonical_signature(signature: str) -> str:
    """The form a signature is stored and compared in: invisible characters removed, NFKC, trimmed."""
    return canonical_text(signature).strip()


def is_valid_signature(s: str) -> bool:
    """True when ``s`` is exactly one well-formed canonical signature, brackets included."""
    return SIGNATURE_PATTERN.fullmatch(s) is not None


class Signed(NamedTuple):
    """A content's signature and text, found by ``take_signature``."""

    signature: str  # canonical: what names the sub-account
    text: str  # the content without its signature, stripped, as written
    content: str  # what is sent: as written, trimmed, with no invisible character in or around the signature


def take_signature(content: str) -> Signed | SignatureError:
    """The signature at the head or tail of ``content`` (see ``split_signature``), canonical.

    What is sent is the content as the customer wrote it, with whitespace trimmed at both ends and
    the invisible characters inside the signature and between it and its end of the content removed
    (a client's BOM before a head signature, a ZWSP inside the brackets). Invisible characters in
    the rest of the text stay: emoji sequences are built with joiners and tags. MALFORMED when the
    signature found is not a valid one once canonical (whitespace inside, too short or too long);
    CONTROL when it holds a control character.
    """
    found = _split(content)
    if isinstance(found, SignatureError):
        return found
    written, text, at_head, rest = found
    if has_control(written):
        return SignatureError.CONTROL
    signature = canonical_signature(written)
    if not is_valid_signature(signature):
        return SignatureError.MALFORMED
    shown = remove_invisible(written)
    return Signed(signature, text, shown + rest if at_head else rest + shown)


def split_signature(content: str) -> tuple[str, str] | SignatureError:
    """``(signature, text)``: the signature at the head or tail of ``content`` as written, and the rest.

    Surrounding whitespace is ignored, and the remaining text is stripped too, so
    ``【A公司】 您好`` and ``您好【A公司】`` both give ``您好``. Invisible characters between a
    signature and its end of the content are ignored like whitespace. When both ends carry a
    well-formed signature the head one is the signature (the usual place in China) and the tail
    stays part of the text. A well-formed signature at one end wins over a broken one at the other.

    MALFORMED when an end starts or finishes with a bracket that does not make a well-formed
    signature (1 or 13+ characters, whitespace inside, unclosed, nested), or when brackets are left
    unbalanced (``您好【A公司``): the sender clearly tried to sign. MISSING otherwise.
    """
    found = _split(content)
    if isinstance(found, SignatureError):
        return found
    written, text, _, _ = found
    return written, text


def _split(content: str) -> tuple[str, str, bool, str] | SignatureError:
    """(signature as written, text stripped, at head, the rest as it stays in the content)."""
    stripped = content.strip()
    head = _HEAD.match(stripped)
    if head is not None:
        rest = stripped[head.end() :]
        return head.group(1), rest.strip(), True, rest
    # No 【 inside a signature, so a tail signature can only start at the last 【.
    last_open = stripped.rfind("【")
    if last_open > 0:
        tail = _TAIL.fullmatch(stripped, last_open)
        if tail is not None:
            rest = stripped[:last_open]
            return tail.group(1), rest.strip(), False, rest
    if _looks_signed(_trimmed(stripped)):
        return SignatureError.MALFORMED
    return SignatureError.MISSING


def _trimmed(text: str) -> str:
    """``text`` without whitespace and invisible characters at its ends; linear, whatever the text."""
    start = _EDGE_RUN.match(text).end()  # type: ignore[union-attr]  # a run of nothing always matches
    end = len(text) - _EDGE_RUN.match(text[::-1]).end()  # type: ignore[union-attr]
    return text[start:end] if start < end else ""


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
