"""/words: the sensitive-word list (sends containing a listed word answer 204)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from smsplatform.admin import words as word_ops
from smsplatform.admin.actors import Actor
from smsplatform.admin.api.endpoint import Endpoint
from smsplatform.admin.words import WordsChange


def add_words(conn: sa.Connection, actor: Actor, words: Sequence[str]) -> WordsChange:
    """Add words to the list; sends containing one answer 204 from the next configuration poll on."""
    return word_ops.add_words(conn, actor, words)


def remove_words(conn: sa.Connection, actor: Actor, word: Sequence[str]) -> WordsChange:
    """Take words off the list."""
    return word_ops.remove_words(conn, actor, word)


ENDPOINTS = [
    Endpoint("GET", "/words", word_ops.list_words, "The sensitive-word list"),
    Endpoint("POST", "/words", add_words, params={"words": "The words, each at most one line"}),
    Endpoint(
        "POST",
        "/words/import",
        word_ops.import_words,
        "Add the words of a list file: one a line, blank lines and # comments skipped",
        params={"text": "The file's text"},
    ),
    Endpoint("DELETE", "/words", remove_words, params={"word": "A word to remove; repeat for several"}),
]
