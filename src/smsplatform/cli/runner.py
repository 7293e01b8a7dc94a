"""Running operations for a command: one short transaction each, as the operator at the keyboard."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from smsplatform.admin.actors import Actor, cli_actor
from smsplatform.config import Settings
from smsplatform.datastore import open_database
from smsplatform.store.database import Database

T = TypeVar("T")


def operator_name() -> str:
    """Who runs the command, as the audit log names them."""
    try:
        return getpass.getuser() or "cli"
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"


class Operations:
    """Calls `fn(conn, actor, ...)` in a transaction of its own: a read, or a write (both or nothing).

    The database is opened (and migrated, unless the setting `migrate` is off: then a schema that is
    not the newest is refused) on first use, so commands that need none start fast.
    """

    def __init__(self, settings: Settings, actor: Actor | None = None) -> None:
        self.settings = settings
        self.actor = actor or cli_actor(operator_name())
        self._db: Database | None = None

    def open(self) -> Database:
        """The database, created and migrated to the newest schema if need be (see open_database)."""
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.open().read_engine.connect() as conn, conn.begin():
            return fn(conn, self.actor, *args, **kwargs)

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.open().engine.begin() as conn:
            return fn(conn, self.actor, *args, **kwargs)

    def with_connection(self, fn: Callable[[sa.Connection], T]) -> T:
        """`fn(conn)` in a read transaction (e.g. to stream an export while it is open)."""
        with self.open().read_engine.connect() as conn, conn.begin():
            return fn(conn)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
