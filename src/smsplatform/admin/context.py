"""What every face of the admin room needs: the settings, the database, the session key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from smsplatform.config import Settings
from smsplatform.store.database import Database
from smsplatform.store.private_files import create_once

KEY_FILE = "admin.key"


@dataclass(frozen=True)
class AdminContext:
    settings: Settings
    db: Database
    # Signs the console's session cookies (and their CSRF tokens).
    secret_key: str


def session_key(settings: Settings) -> str:
    """`admin_secret` if set (several console nodes must share it); else a random key made once and
    kept beside the database, readable by its owner only."""
    if settings.admin_secret:
        return settings.admin_secret
    path = Path(settings.data_dir) / KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    text, _ = create_once(path, secrets.token_urlsafe(48) + "\n")  # another process's, if it was first
    return text.strip()
