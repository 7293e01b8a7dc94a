"""The sensitive-word filter (敏感词): one Aho-Corasick pass over the text as a reader reads it.

A listed word is found however it is dressed: in full-width or another case, in traditional
characters, or with spaces, punctuation, symbols or invisible characters slipped between its
characters (``代 开发票``, ``赌\u00ad博``, ``賭·博``). The text and the words are both brought to
one searched form, ``searched_form``, and the words are looked for in it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import ahocorasick
import opencc

from smsplatform.domain.canonical import INVISIBLE

__all__ = ["SensitiveWordFilter", "normalize_text", "searched_form"]


def _fold_char(char: str) -> str:
    """One character's folded form, always exactly one character.

    NFKC turns full-width forms and the ideographic space into their ASCII twins; casefold
    then removes case. Where either would produce several characters (``㈱`` → ``(株)``,
    ``ß`` → ``ss``) the step is skipped, keeping positions in the folded text equal to
    positions in the original.
    """
    compat = unicodedata.normalize("NFKC", char)
    if len(compat) != 1:
        compat = char
    folded = compat.casefold()
    if len(folded) == 1:
        return folded
    lowered = compat.lower()
    return lowered if len(lowered) == 1 else compat


_FOLD_CACHE_SIZE = 1 << 16


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table filled on first sight of each character.

    Precomputing all of Unicode would cost seconds at start-up; texts use few distinct
    characters, so the table stays small and ``translate`` runs at C speed once warm. The
    cap keeps texts crafted to hold every code point from growing it without bound.
    """

    def __missing__(self, codepoint: int) -> str:
        folded = _fold_char(chr(codepoint))
        if len(self) < _FOLD_CACHE_SIZE:
            self[codepoint] = folded
        return folded


_FOLD = _FoldTable()


def normalize_text(text: str) -> str:
    """Full-width → half-width (NFKC, the ideographic space included) and case folded.

    The result has the same length as ``text`` and each character folds on its own, so an
    index into the result is an index into ``text``. Characters whose folding would change
    the length (ligatures, ``ß``, compatibility sequences) are kept as they are.
    """
    return text.translate(_FOLD)


# What a reader skips inside a word: spaces and line breaks, punctuation (``，。、·!?``), symbols
# (``$+¥★``, emoji), controls and invisible characters.
_SKIPPED_CATEGORIES = frozenset(
    {"Cc", "Cf", "Zs", "Zl", "Zp", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)


class _SkipTable(dict[int, str | None]):
    """A ``str.translate`` table deleting skipped characters, filled on first sight of each one.

    Hits are cached for kept characters too, so ``translate`` never raises per character and runs
    at C speed once warm; the cap keeps crafted texts from growing it without bound.
    """

    def __missing__(self, codepoint: int) -> str | None:
        char = chr(codepoint)
        skipped = (
            unicodedata.category(char) in _SKIPPED_CATEGORIES or char.isspace() or codepoint in INVISIBLE
        )
        kept = None if skipped else char
        if len(self) < _FOLD_CACHE_SIZE:
            self[codepoint] = kept
        return kept


_SKIP = _SkipTable()
# Traditional → simplified Chinese, phrase-aware (OpenCC's maintained tables): 賭博 → 赌博.
_T2S = opencc.OpenCC("t2s")


def searched_form(text: str) -> str:
    """``text`` as the filter searches it: skipped characters removed, NFKC, case folded, simplified.

    Skipped characters go before NFKC (so that it composes what they kept apart) and again after
    (NFKC turns some letters into punctuation: ``⑴`` → ``(1)``); the conversion to simplified
    characters runs once, on the whole text, where its phrase tables see the words joined.
    """
    kept = text.translate(_SKIP)
    if not unicodedata.is_normalized("NFKC", kept):
        kept = unicodedata.normalize("NFKC", kept)
    kept = kept.casefold().translate(_SKIP)
    return _T2S.convert(kept) if kept else kept


def _folded_form(text: str) -> str:
    """NFKC and case folded, nothing removed: where a word made only of skipped characters is sought."""
    return unicodedata.normalize("NFKC", text).casefold()


class SensitiveWordFilter:
    """Finds operator-listed words in a text, however it is dressed (see the module).

    Words are stripped; empty ones are ignored. Several words with one searched form (``ＶＰＮ``
    and ``vpn``, ``賭博`` and ``赌博``) are one entry, and all of them are reported when it is found.
    A word made only of characters the search skips (``！！``, an emoji) is sought as it is written,
    width and case folded.
    """

    __slots__ = ("_automaton", "_literal", "_words")

    def __init__(self, words: Iterable[str]) -> None:
        originals: dict[str, list[str]] = {}
        literal: dict[str, list[str]] = {}
        kept: set[str] = set()
        for raw in words:
            word = raw.strip()
            if not word or word in kept:
                continue
            kept.add(word)
            searched = searched_form(word)
            if searched:
                originals.setdefault(searched, []).append(word)
            else:
                literal.setdefault(_folded_form(word), []).append(word)
        self._words = sorted(kept)
        self._literal = [(folded, tuple(sorted(group))) for folded, group in sorted(literal.items())]
        self._automaton: ahocorasick.Automaton | None = None
        if originals:
            automaton = ahocorasick.Automaton()
            for searched, group in originals.items():
                # Value: (length, originals) so a hit's end index gives its start.
                automaton.add_word(searched, (len(searched), tuple(sorted(group))))
            automaton.make_automaton()
            self._automaton = automaton

    @property
    def words(self) -> list[str]:
        """The words of the list, sorted (as the blackword endpoint shows them)."""
        return list(self._words)

    def find(self, text: str) -> list[str]:
        """Every listed word in ``text``, each once, in order of where it first starts in the searched
        form (words sought as written come after, in order of where they start)."""
        if not text:
            return []
        found: list[str] = []
        if self._automaton is not None:
            starts: dict[str, int] = {}
            for end, (length, group) in self._automaton.iter(searched_form(text)):
                start = end - length + 1
                for word in group:
                    if word not in starts or start < starts[word]:
                        starts[word] = start
            found = sorted(starts, key=lambda word: (starts[word], word))
        if self._literal:
            folded = _folded_form(text)
            at = {
                word: start
                for needle, group in self._literal
                for word in group
                if (start := folded.find(needle)) >= 0
            }
            found.extend(sorted(at, key=lambda word: (at[word], word)))
        return found

    def first(self, text: str) -> str | None:
        """The listed word that starts first in ``text``, or None when the text is clean."""
        found = self.find(text)
        return found[0] if found else None

    def __len__(self) -> int:
        return len(self._words)
