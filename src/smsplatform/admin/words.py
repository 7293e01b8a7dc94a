"""The sensitive-word list: list, add, remove, and import from text (one word a line)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import audit
from smsplatform.admin.actors import Actor, Permission
from smsplatform.store import words
from smsplatform.store.words import MAX_WORD_CHARS

TARGET = "words"


@dataclass(frozen=True, slots=True)
class WordInfo:
    word: str
    created_at: int


@dataclass(frozen=True, slots=True)
class WordsChange:
    changed: list[str]  # added or removed
    unchanged: list[str]  # already listed (add), or not listed (remove)


def _cleaned(given: Iterable[str]) -> list[str]:
    """The words stripped, each once, in the order given; refused whole when one is too long."""
    cleaned = list(dict.fromkeys(word.strip() for word in given if word.strip()))
    for word in cleaned:
        if len(word) > MAX_WORD_CHARS:
            raise ValueError(f"a word has at most {MAX_WORD_CHARS} characters: {word[:20]}…")
        if not word.isprintable():
            raise ValueError(f"a word is one line of printable characters: {word[:20]!r}")
    if not cleaned:
        raise ValueError("give at least one word")
    return cleaned


def lines_of(text: str) -> list[str]:
    """The words of a list file: one a line, blank lines and `#` comments skipped, a BOM ignored."""
    lines = text.removeprefix("\ufeff").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def list_words(conn: sa.Connection, actor: Actor) -> list[WordInfo]:
    actor.require(Permission.VIEW)
    return [WordInfo(word, created_at) for word, created_at in words.list_word_rows(conn)]


def add_words(conn: sa.Connection, actor: Actor, given: Iterable[str]) -> WordsChange:
    """Sends containing a listed word answer 204, from the next configuration poll on."""
    actor.require(Permission.MANAGE)
    wanted = _cleaned(given)
    added = words.add_new_words(conn, wanted)
    if added:
        audit.record(conn, actor, "word.add", TARGET, after={"words": added})
    return WordsChange(added, sorted(set(wanted) - set(added)))


def import_words(conn: sa.Connection, actor: Actor, text: str) -> WordsChange:
    """Adds the words of a list file's text (see `lines_of`)."""
    return add_words(conn, actor, lines_of(text))


def remove_words(conn: sa.Connection, actor: Actor, given: Iterable[str]) -> WordsChange:
    actor.require(Permission.MANAGE)
    wanted = list(dict.fromkeys(word.strip() for word in given if word.strip()))
    if not wanted:
        raise ValueError("give at least one word")
    removed = words.remove_listed_words(conn, wanted)
    if removed:
        audit.record(conn, actor, "word.remove", TARGET, before={"words": removed})
    return WordsChange(removed, sorted(set(wanted) - set(removed)))
