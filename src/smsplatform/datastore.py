"""Opening the platform's database as every process does (serve, its workers, the CLI)."""

from __future__ import annotations

from smsplatform.config import Settings
from smsplatform.store.database import Database


def open_database(settings: Settings) -> Database:
    """The database of the settings, created and migrated to the newest schema if need be."""
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database.open(settings.effective_database_url)
