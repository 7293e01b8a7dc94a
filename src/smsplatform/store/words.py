"""The platform's sensitive-word list (黑名单), kept by the operator."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.schema import blackwords
from smsplatform.store.settings import bump_config_version


def list_words(conn: sa.Connection) -> list[str]:
    return [row.word for row in conn.execute(sa.select(blackwords.c.word).order_by(blackwords.c.word))]


def add_words(conn: sa.Connection, words: Iterable[str]) -> int:
    """Adds the words not yet listed; returns how many were new."""
    wanted = {w.strip() for w in words if w.strip()}
    existing = set(list_words(conn))
    new = sorted(wanted - existing)
    if new:
        stamp = now()
        conn.execute(sa.insert(blackwords), [{"word": w, "created_at": stamp} for w in new])
        bump_config_version(conn)
    return len(new)


def remove_words(conn: sa.Connection, words: Iterable[str]) -> int:
    wanted = [w.strip() for w in words if w.strip()]
    removed = (
        conn.execute(sa.delete(blackwords).where(blackwords.c.word.in_(wanted))).rowcount if wanted else 0
    )
    if removed:
        bump_config_version(conn)
    return int(removed)
