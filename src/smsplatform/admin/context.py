"""What every face of the admin room needs: the settings, the database, the session key."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from smsplatform.config import Settings
from smsplatform.store.database import Database

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
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: theirs is the one
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
