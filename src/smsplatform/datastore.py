"""Opening the platform's database as every process does (serve, its workers, the CLI).

Besides creating and migrating it (or, on a node that may not migrate, refusing a schema that is not
the newest), this is where the secret key is found (store/secrets.py): the setting `secret_key`
(SMSPLATFORM_SECRET_KEY), else the file `secret_key_file`, else `data_dir/secret.key`, made on the first
start of a database that has no key yet, and never for one whose secrets were sealed with another. And
where the files are kept from other users: the data directory 0700, the SQLite database and
its -wal and -shm 0600, tightened if an older release left them readable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

import sqlalchemy as sa

from smsplatform.config import Settings
from smsplatform.store import secrets as secret_store
from smsplatform.store.database import Database, create_engine, migrate, require_newest_schema
from smsplatform.store.private_files import PRIVATE_DIR, PRIVATE_FILE, create_once
from smsplatform.store.secrets import SecretBox, SecretKeyError

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"


def open_database(settings: Settings) -> Database:
    """The database of the settings, created and migrated to the newest schema if need be, opened with
    its secret key (a SecretKeyError, whose message says what to do, when the key does not fit).

    With the setting `migrate` off (a node of a scaled-out platform, started with --no-migrate), the
    schema is never changed: a database that is not at the newest revision is refused with
    SchemaOutOfDate, which says to run `smsplatform migrate`."""
    url = settings.effective_database_url
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        _private_dir(sqlite_file.parent, create=not settings.database_url)
        _private_database(sqlite_file)
    _newest_schema(url, migrating=settings.migrate)
    box, source = _secret_box(settings, url)
    return Database.open(url, run_migrations=False, secrets=box, key_source=source)


def _newest_schema(url: str, *, migrating: bool) -> None:
    """The schema at the newest revision before anything reads it: migrated, or only checked."""
    engine = create_engine(url)
    try:
        if migrating:
            migrate(engine)
        else:
            require_newest_schema(engine)
    finally:
        engine.dispose()


def _sqlite_file(url: str) -> Path | None:
    parsed = sa.make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _private_dir(directory: Path, *, create: bool) -> None:
    """`directory` made 0700, or an existing one of ours tightened to it. A directory named by a database
    URL is the operator's (it may be shared): made if missing, left as it is otherwise."""
    if not directory.exists():
        if not create:
            return
        directory.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        directory.chmod(PRIVATE_DIR)  # mkdir's mode passes through the umask
        return
    if create:
        _tighten(directory, PRIVATE_DIR)


def _private_database(database: Path) -> None:
    """The database file and its -wal and -shm readable by their owner only. A new file is made empty
    (an empty file is an empty SQLite database) with that mode before SQLite opens it: SQLite gives its
    -wal and -shm the database file's mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        _tighten(path, PRIVATE_FILE)


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        path.chmod(current & mode)
        log.warning("%s was readable by others (%o): now %o", path, current, current & mode)


# --- the secret key --------------------------------------------------------------------------------------


def _secret_box(settings: Settings, url: str) -> tuple[SecretBox, str]:
    """The key the settings give, and where it came from (for the errors)."""
    if settings.secret_key:
        source = "the secret_key setting (SMSPLATFORM_SECRET_KEY)"
        return SecretBox(secret_store.decode_key(settings.secret_key, source=source)), source
    if settings.secret_key_file:
        path = Path(settings.secret_key_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise SecretKeyError(f"secret_key_file {path}: {exc.strerror or exc}") from None
        return SecretBox(secret_store.decode_key(text, source=str(path))), str(path)
    path = Path(settings.data_dir) / KEY_FILE
    return SecretBox(_default_key(path, url)), str(path)


def _default_key(path: Path, url: str) -> bytes:
    """The key in `path`, made there if the database has none yet."""
    try:
        _tighten(path, PRIVATE_FILE)
        return secret_store.decode_key(path.read_text(), source=str(path))
    except FileNotFoundError:
        pass
    if _sealed_already(url):
        # Another process may have made the key and sealed with it since the file was looked for: it
        # puts the file in place before the database takes the key's fingerprint.
        with contextlib.suppress(FileNotFoundError):
            return secret_store.decode_key(path.read_text(), source=str(path))
        raise SecretKeyError(
            f"the secret key does not open this database: its secrets were sealed with a key, and {path} "
            "does not exist; restore that file or give the key (secret_key, SMSPLATFORM_SECRET_KEY or "
            "secret_key_file)"
        )
    _private_dir(path.parent, create=True)
    # If a process starting beside this one made a key of its own, only one of them wins.
    text, made = create_once(path, secret_store.encode_key(secret_store.new_key()) + "\n")
    key = secret_store.decode_key(text, source=str(path))
    if not made:
        return key
    log.warning(
        "made a new secret key in %s: keep a copy, the database's secrets cannot be read without it", path
    )
    return key


def _sealed_already(url: str) -> bool:
    """Whether the database has a key already (the fingerprint of the one its secrets were sealed with)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return secret_store.stored_fingerprint(conn) is not None
    finally:
        engine.dispose()


# --- the PostgreSQL server's settings ---------------------------------------------------------------------


def warn_of_server_settings(settings: Settings) -> None:
    """One warning line at `serve`'s start when the PostgreSQL server runs with autovacuum off: the
    outbox updates each message several times, and without autovacuum its dead rows are never cleared,
    so claims and status queries slow down as the table grows. Nothing is said when the server cannot
    be reached: opening the database says that."""
    url = settings.effective_database_url
    if not url.startswith(("postgresql", "postgres")):
        return
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            autovacuum = conn.execute(sa.text("SHOW autovacuum")).scalar_one()
    except sa.exc.SQLAlchemyError:
        return
    finally:
        engine.dispose()
    if str(autovacuum).lower() != "on":
        log.warning(
            "PostgreSQL at %s runs with autovacuum off: the message table's dead rows are never cleared and "
            "the platform slows down as it grows; set autovacuum = on (postgresql.conf, or ALTER SYSTEM SET "
            "autovacuum = on; SELECT pg_reload_conf())",
            sa.make_url(url).render_as_string(hide_password=True).split("@")[-1],
        )
