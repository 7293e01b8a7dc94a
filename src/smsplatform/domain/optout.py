"""Opt-out (退订): which subscriber replies (MO) take a number off a sub-account's marketing."""

from __future__ import annotations

from smsplatform.domain.words import normalize_text

__all__ = ["OPT_OUT_REPLIES", "is_opt_out_reply"]

#: The replies that opt out, as marketing texts announce them (回TD退订, 拒收请回复R).
OPT_OUT_REPLIES: frozenset[str] = frozenset({"TD", "T", "N", "退订", "R"})

_FOLDED = frozenset(normalize_text(reply) for reply in OPT_OUT_REPLIES)


def is_opt_out_reply(text: str) -> bool:
    """True when the whole reply, trimmed and width/case folded, is one of ``OPT_OUT_REPLIES``.

    Only the bare word counts: "TD谢谢" or "不退订" are ordinary replies.
    """
    return normalize_text(text).strip() in _FOLDED
