"""Hypothesis strategies for look-alike texts: what a sender slips into a word or a signature to get
it past a comparison, shared by the domain, API and admin tests."""

from __future__ import annotations

import sys

from hypothesis import strategies as st

from smsplatform.domain.canonical import INVISIBLE

#: Every invisible character: category Cf (ZWSP, joiners, bidi controls, soft hyphen, BOM, tags, ...)
#: and the other default-ignorable code points (variation selectors, Hangul fillers, ...).
INVISIBLES = st.sampled_from(sorted(chr(cp) for cp in INVISIBLE))

#: Every Unicode whitespace character (spaces, the ideographic space, line breaks, tabs).
SPACES = st.sampled_from([chr(cp) for cp in range(sys.maxunicode + 1) if chr(cp).isspace()])

#: Punctuation and symbols (categories P* and S*), ASCII and CJK alike, emoji included.
PUNCTUATION = st.one_of(
    st.sampled_from(list("，。、·！？：；“”‘’（）【】《》…—～,.;:!?'\"()[]{}-_/\\|@#$%^&*+=<>~`¥￥★☆")),
    st.characters(categories=["Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"]),
)

#: Any of the above.
FILLER = st.one_of(INVISIBLES, SPACES, PUNCTUATION)


def sprinkled(
    text: str, data: st.DataObject, filler: st.SearchStrategy[str], *, inside_only: bool = False
) -> str:
    """``text`` with characters of ``filler`` inserted at positions hypothesis picks, any count each
    (between its characters only with ``inside_only``)."""
    out: list[str] = []
    for index, char in enumerate([*text, ""]):
        if not inside_only or 0 < index < len(text):
            out.extend(data.draw(st.lists(filler, max_size=3)))
        out.append(char)
    return "".join(out)
