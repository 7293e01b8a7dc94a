"""The sensitive-word filter (敏感词): one Aho-Corasick pass over width- and case-folded text."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

import ahocorasick

__all__ = ["SensitiveWordFilter", "normalize_text"]


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


class SensitiveWordFilter:
    """Finds operator-listed words in a text, whatever their width or case.

    Words are stripped; empty ones are ignored. Several words that fold to the same form
    (``ＶＰＮ`` and ``vpn``) are all reported when that form is found.
    """

    __slots__ = ("_automaton", "_words")

    def __init__(self, words: Iterable[str]) -> None:
        originals: dict[str, list[str]] = {}
        kept: set[str] = set()
        for raw in words:
            word = raw.strip()
            if not word or word in kept:
                continue
            kept.add(word)
            originals.setdefault(normalize_text(word), []).append(word)
        self._words = sorted(kept)
        self._automaton: ahocorasick.Automaton | None = None
        if originals:
            automaton = ahocorasick.Automaton()
            for folded, group in originals.items():
                # Value: (length, originals) so a hit's end index gives its start.
                automaton.add_word(folded, (len(folded), tuple(sorted(group))))
            automaton.make_automaton()
            self._automaton = automaton

    @property
    def words(self) -> list[str]:
        """The words of the list, sorted (as the blackword endpoint shows them)."""
        return list(self._words)

    def find(self, text: str) -> list[str]:
        """Every listed word in ``text``, each once, in order of where it first starts."""
        if self._automaton is None or not text:
            return []
        starts: dict[str, int] = {}
        for end, (length, group) in self._automaton.iter(normalize_text(text)):
            start = end - length + 1
            for word in group:
                if word not in starts or start < starts[word]:
                    starts[word] = start
        return sorted(starts, key=lambda word: (starts[word], word))

    def first(self, text: str) -> str | None:
        """The listed word that starts first in ``text``, or None when the text is clean."""
        found = self.find(text)
        return found[0] if found else None

    def __len__(self) -> int:
        return len(self._words)
