"""Files the platform keeps beside its database that only its own user may read (keys)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def create_once(path: Path, text: str) -> tuple[str, bool]:
    """`path` holding `text` (0600, in a directory made 0700 if missing), unless another process made it
    first: then what that one wrote. Also whether `text` is the one that won.

    Written whole under a temporary name, then linked into place, so a process starting beside this one
    finds either no file or the whole of it, never an empty or half-written one."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(staging, path)
        except FileExistsError:
            return path.read_text(), False
    finally:
        os.unlink(staging)
    return text, True
