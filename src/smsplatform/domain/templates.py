"""Templates: their kind, the automatic review, and matching sent texts against them.

A template is a text where each ``@`` stands for one variable value. Customers fetch a
template, replace each ``@`` and send the result, so matching must accept exactly that.

Templates are stored as the customer wrote them; their kind, their review and the matching read
them in canonical form (``domain.canonical``), and the sent texts likewise: an invisible character
or a full-width twin changes nothing about which template a text fits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum, StrEnum
from typing import NamedTuple

from smsplatform.domain.canonical import canonical_text
from smsplatform.domain.segments import count_chars
from smsplatform.domain.signatures import LINE_BREAKS, split_signature
from smsplatform.domain.words import SensitiveWordFilter

__all__ = [
    "MAX_TEMPLATE_CHARS",
    "MAX_VARIABLE_CHARS",
    "OPT_OUT_TEXTS",
    "VARIABLE",
    "TemplateKind",
    "TemplateMatch",
    "TemplateMatcher",
    "TemplateRow",
    "TemplateStatus",
    "classify",
    "review",
    "strip_template_signature",
]

#: The placeholder for one variable value.
VARIABLE = "@"
MAX_VARIABLE_CHARS = 20
MAX_TEMPLATE_CHARS = 500

#: Opt-out texts a marketing template must end with; the first is the one the seed asks for.
OPT_OUT_TEXTS = ("回TD退订", "拒收请回复R")

_VERIFICATION_WORDS = ("验证码", "校验码", "动态码")
# A closing full stop or exclamation mark after the opt-out text is still "ending with it"
# (the seed itself writes "回TD退订。").
_ENDS_WITH_OPT_OUT = re.compile("(?:" + "|".join(map(re.escape, OPT_OUT_TEXTS)) + r")[\s。．.！!]*\Z")
_VARIABLE_VALUE = f"[^{LINE_BREAKS}]{{1,{MAX_VARIABLE_CHARS}}}"


class TemplateKind(StrEnum):
    """What a template is for; decides review rules, frequency limits and number caps."""

    MARKETING = "marketing"
    VERIFICATION = "verification"
    NOTIFICATION = "notification"


class TemplateStatus(IntEnum):
    """Review state of a template, as the API shows it."""

    PENDING = 0
    APPROVED = 1
    REJECTED = 2


def classify(content: str, ismarket: bool) -> TemplateKind:
    """Marketing when the customer says so, verification when it talks of a code, else notification.

    Read in canonical form: ``验\u200b证码`` talks of a code too.
    """
    if ismarket:
        return TemplateKind.MARKETING
    canonical = canonical_text(content)
    if any(word in canonical for word in _VERIFICATION_WORDS):
        return TemplateKind.VERIFICATION
    return TemplateKind.NOTIFICATION


def strip_template_signature(content: str) -> str:
    """The template's text without a signature at its head or tail (stripped either way)."""
    split = split_signature(content)
    return split[1] if isinstance(split, tuple) else content.strip()


def review(content: str, ismarket: bool, words: SensitiveWordFilter) -> str | None:
    """The automatic review: a Chinese ``failreason`` when the template must be rejected, else None.

    Passing templates still wait for the operator unless the platform approves automatically. The
    rules read the canonical text (the one sends are matched against); the length is the text's as
    written, which is what is billed.
    """
    hit = words.first(content)
    if hit is not None:
        return f"模板内容包含敏感词：{hit}"
    text = strip_template_signature(canonical_text(content))
    kind = classify(content, ismarket)
    if kind is TemplateKind.MARKETING and _ENDS_WITH_OPT_OUT.search(text) is None:
        return f"营销短信模板须以“{OPT_OUT_TEXTS[0]}”或“{OPT_OUT_TEXTS[1]}”结尾"
    if count_chars(content.strip()) > MAX_TEMPLATE_CHARS:
        return f"模板内容超过{MAX_TEMPLATE_CHARS}个字符"
    if kind is TemplateKind.VERIFICATION and text.count(VARIABLE) != 1:
        return f"验证码模板须有且仅有一个变量{VARIABLE}"
    return None


class TemplateRow(NamedTuple):
    """A sub-account's template as the store holds it; ``status`` is a ``TemplateStatus`` value."""

    template_id: int
    content: str
    status: int


class TemplateMatch(NamedTuple):
    """The template a text was matched to, and that template's review status."""

    template_id: int
    status: int


# Approved beats pending beats rejected: a send is judged by the best template it fits.
_RANK: dict[int, int] = {TemplateStatus.APPROVED: 0, TemplateStatus.PENDING: 1, TemplateStatus.REJECTED: 2}


class TemplateMatcher:
    """Matches a text (without its signature) against all templates of one sub-account.

    Built once per sub-account and reused: templates without ``@`` go in a dict, the others
    into a single compiled alternation tried in rank order (approved, pending, rejected, then
    by id), so a match costs one dict lookup and one ``fullmatch``. Each ``@`` accepts 1-20
    characters without a line break; everything else in a template is literal. Rows with an
    unknown status are ignored. Templates and texts are both matched in canonical form, so a
    template stored with invisible characters matches texts without them and the other way round,
    and a variable's 1-20 characters are visible ones.
    """

    __slots__ = ("_exact", "_groups", "_pattern")

    def __init__(self, rows: Iterable[TemplateRow]) -> None:
        ranked = sorted(
            (row for row in rows if row.status in _RANK),
            key=lambda row: (_RANK[row.status], row.template_id),
        )
        self._exact: dict[str, TemplateMatch] = {}
        self._groups: dict[str, TemplateMatch] = {}
        alternatives: list[str] = []
        for row in ranked:
            text = strip_template_signature(canonical_text(row.content))
            found = TemplateMatch(row.template_id, row.status)
            if VARIABLE not in text:
                self._exact.setdefault(text, found)
                continue
            name = f"t{len(alternatives)}"
            body = _VARIABLE_VALUE.join(map(re.escape, text.split(VARIABLE)))
            alternatives.append(f"(?P<{name}>{body})")
            self._groups[name] = found
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def match(self, text: str) -> TemplateMatch | None:
        """The best-ranked template ``text`` fits, or None; an exact literal wins a tie in rank."""
        text = canonical_text(text).strip()
        exact = self._exact.get(text)
        if self._pattern is None or (exact is not None and exact.status == TemplateStatus.APPROVED):
            return exact
        matched = self._pattern.fullmatch(text)
        if matched is None or matched.lastgroup is None:
            return exact
        found = self._groups[matched.lastgroup]
        if exact is None or _RANK[found.status] < _RANK[exact.status]:
            return found
        return exact
