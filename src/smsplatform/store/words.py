"""The platform's sensitive-word list (黑名单), kept by the operator."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.schema import blackwords
from smsplatform.store.settings import bump_config_version

# SQLite would keep a longer word, PostgreSQL refuses it: callers check against this to answer alike.
_WORD_TYPE = blackwords.c.word.type
MAX_WORD_CHARS = _WORD_TYPE.length if isinstance(_WORD_TYPE, sa.String) and _WORD_TYPE.length else 100


def list_words(conn: sa.Connection) -> list[str]:
    return [row.word for row in conn.execute(sa.select(blackwords.c.word).order_by(blackwords.c.word))]


def list_word_rows(conn: sa.Connection) -> list[tuple[str, int]]:
    """Every word with when it was added."""
    query = sa.select(blackwords.c.word, blackwords.c.created_at).order_by(blackwords.c.word)
    return [(row.word, row.created_at) for row in conn.execute(query)]


def add_words(conn: sa.Connection, words: Iterable[str]) -> int:
    """Adds the words not yet listed; returns how many were new."""
    return len(add_new_words(conn, words))


def add_new_words(conn: sa.Connection, words: Iterable[str]) -> list[str]:
    """Adds the words not yet listed; returns those, sorted."""
    wanted = {w.strip() for w in words if w.strip()}
    existing = set(list_words(conn))
    new = sorted(wanted - existing)
    if new:
        stamp = now()
        conn.execute(sa.insert(blackwords), [{"word": w, "created_at": stamp} for w in new])
        bump_config_version(conn)
    return new


def remove_words(conn: sa.Connection, words: Iterable[str]) -> int:
    return len(remove_listed_words(conn, words))


def remove_listed_words(conn: sa.Connection, words: Iterable[str]) -> list[str]:
    """Removes those of `words` that are listed; returns them, sorted."""
    wanted = sorted({w.strip() for w in words if w.strip()})
    if not wanted:
        return []
    listed = [
        row.word for row in conn.execute(sa.select(blackwords.c.word).where(blackwords.c.word.in_(wanted)))
    ]
    if listed:
        conn.execute(sa.delete(blackwords).where(blackwords.c.word.in_(listed)))
        bump_config_version(conn)
    return sorted(listed)
