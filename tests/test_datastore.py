"""Opening the database as every process does: its files kept from other users, its secrets sealed with
a key kept outside it, a database of the previous schema sealed in place, a wrong or missing key refused
with a clear error."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from smsplatform import cli
from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.datastore import KEY_FILE, open_database, warn_of_server_settings
from smsplatform.store import accounts, callbacks, connectors, customers
from smsplatform.store.database import (
    MIGRATION_LOCK,
    Database,
    SchemaOutOfDate,
    create_engine,
    migrate,
    newest_revision,
    normalize_url,
    schema_revision,
)
from smsplatform.store.secrets import SecretKeyError
from tests.conftest import POSTGRES_ENV
from tests.waiting import wait_until

REPLY_PASSWORD = "reply-pw-Zq81"
CONNECTOR_PASSWORD = "smsc-pw-Kx42"
LISTEN_PASSWORD = "listen-pw-Wm73"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def checkpointed_bytes(database: Path) -> bytes:
    """Everything SQLite keeps of the database on disk: the file and its WAL, after a checkpoint."""
    with sa.create_engine(f"sqlite:///{database}").connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    found = database.read_bytes()
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{database}{suffix}")
        if extra.exists():
            found += extra.read_bytes()
    return found


def migrated_to(url: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("smsplatform.store") / "migrations"))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def previous_schema_with_plaintext(url: str) -> str:
    """A database as the release before sealed secrets left it: appkey, reply and connector passwords in
    plain. Returns the appkey."""
    migrated_to(url, "0011")
    appkey = "0123456789abcdef0123456789abcdef"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, appkey, totalnum, created_at) VALUES (1, '甲', :k, 1000, 0)"
            ),
            {"k": appkey},
        )
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, customer_id, company, signature, replyurl, replyusername,"
                " replypassword, totalnum, extension, addtime)"
                " VALUES (1, 1, 'c', '【甲方】', 'http://r.example/mo', 'me', :p, 10, '0001', 0)"
            ),
            {"p": REPLY_PASSWORD},
        )
        conn.execute(
            sa.text(
                "INSERT INTO connectors (name, protocol, host, port, system_id, password, options,"
                " created_at) VALUES ('unicom', 'sgip', '127.0.0.1', 8801, '901234', :p, :o, 0)"
            ),
            {"p": CONNECTOR_PASSWORD, "o": json.dumps({"listen_password": LISTEN_PASSWORD, "node_id": "3"})},
        )
    engine.dispose()
    return appkey


async def balance_status(db: Database, settings: Settings, appkey: str) -> str:
    platform = build_platform(settings, db=db, background=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.app), base_url="http://t") as c:
        answer = (await c.get("/sms/balance", params={"appkey": appkey})).json()
    return str(answer["status"])


# --- files --------------------------------------------------------------------------------------------


def test_a_new_data_dir_database_and_key_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = open_database(Settings(data_dir=data))
    try:
        with db.engine.begin() as conn:
            customers.create_customer(conn, "甲", 10)  # a write: the WAL and its index exist
        assert mode(data) == 0o700
        for name in ("smsplatform.db", "smsplatform.db-wal", "smsplatform.db-shm", KEY_FILE):
            assert mode(data / name) == 0o600, name
        assert len(base64.b64decode((data / KEY_FILE).read_text())) == 32
    finally:
        db.close()


def test_an_older_data_dir_left_readable_is_tightened_once_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    open_database(Settings(data_dir=data)).close()
    data.chmod(0o755)
    for name in ("smsplatform.db", KEY_FILE):
        (data / name).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="smsplatform.datastore"):
        open_database(Settings(data_dir=data)).close()
        open_database(Settings(data_dir=data)).close()
    assert mode(data) == 0o700 and mode(data / "smsplatform.db") == 0o600 and mode(data / KEY_FILE) == 0o600
    tightened = [r.getMessage() for r in caplog.records if "readable by others" in r.getMessage()]
    assert len(tightened) == 3, tightened  # the directory, the database and the key, each once


# --- the key ------------------------------------------------------------------------------------------


def test_the_key_from_the_environment_is_used_and_no_key_file_is_made(tmp_path: Path) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(data_dir=tmp_path / "data", secret_key=key)
    open_database(settings).close()
    assert not (tmp_path / "data" / KEY_FILE).exists()
    open_database(settings).close()  # the same key opens it again


def test_a_wrong_key_is_refused_at_start_with_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = open_database(Settings(data_dir=data))
    with db.engine.begin() as conn:
        customers.create_customer(conn, "甲", 10)
    db.close()
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(SecretKeyError, match=r"^the secret key does not open this database: "):
        open_database(Settings(data_dir=data, secret_key=other))
    with pytest.raises(SecretKeyError, match="44 base64 characters"):
        open_database(Settings(data_dir=data, secret_key="c2hvcnQ="))


def test_a_missing_key_file_of_a_sealed_database_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_database(Settings(data_dir=data)).close()
    (data / KEY_FILE).unlink()
    with pytest.raises(SecretKeyError, match=f"^the secret key does not open this database: .*{KEY_FILE}"):
        open_database(Settings(data_dir=data))
    assert not (data / KEY_FILE).exists()
    with pytest.raises(SecretKeyError, match=r"secret_key_file .*missing\.key"):
        open_database(Settings(data_dir=data, secret_key_file=str(tmp_path / "missing.key")))


def test_the_command_line_says_what_is_wrong_with_the_key_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.delenv("SMSPLATFORM_SECRET_KEY", raising=False)
    assert cli.main(["customer", "create", "--name", "甲", "--totalnum", "5", "--data-dir", str(data)]) == 0
    (data / KEY_FILE).rename(tmp_path / "elsewhere.key")
    capsys.readouterr()
    assert cli.main(["customer", "list", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the secret key does not open this database: ") and "Traceback" not in err
    monkeypatch.setenv("SMSPLATFORM_SECRET_KEY_FILE", str(tmp_path / "elsewhere.key"))
    assert cli.main(["customer", "list", "--data-dir", str(data)]) == 0


def test_processes_starting_together_on_a_new_database_share_one_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    opened: list[Database] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(open_database(Settings(data_dir=data)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors
        assert len({db.secrets.fingerprint for db in opened}) == 1
        assert not [p for p in data.iterdir() if p.name.startswith(".secret-")]  # no staging file left
    finally:
        for db in opened:
            db.close()


# --- secrets at rest ----------------------------------------------------------------------------------


def test_secrets_made_through_the_operations_are_nowhere_in_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.delenv("SMSPLATFORM_SECRET_KEY", raising=False)
    where = ["--data-dir", str(data)]
    assert cli.main(["customer", "create", "--name", "甲", "--totalnum", "100", *where]) == 0
    appkey = capsys.readouterr().out.strip()
    assert cli.main(["customer", "rotate-key", "1", "--grace", "1h", *where]) == 0
    rotated = capsys.readouterr().out.strip()
    connector = ["--protocol", "sgip", "--host", "127.0.0.1", "--port", "8801", "--system-id", "901234"]
    extra = ["--node-id", "3", "--listen-port", "8802", "--listen-login", "smsc"]
    add = ["connector", "add", "unicom", *connector, "--password", CONNECTOR_PASSWORD, *extra]
    assert cli.main([*add, "--listen-password", LISTEN_PASSWORD, *where]) == 0
    settings = Settings(data_dir=data)
    db = open_database(settings)
    try:
        with db.engine.begin() as conn:
            customer = customers.get_customer_by_appkey(conn, rotated)
            assert customer is not None
            fields = {
                "company": "c",
                "signature": "【甲方】",
                "totalnum": 10,
                "replyurl": "http://r.example/",
            }
            accounts.create_account(
                conn,
                customer.id,
                {**fields, "replyusername": "me", "replypassword": REPLY_PASSWORD},
                approve=True,
            )
            stored = connectors.get_connector(conn, "unicom")
        assert stored.password == CONNECTOR_PASSWORD and stored.options["listen_password"] == LISTEN_PASSWORD
    finally:
        db.close()
    on_disk = checkpointed_bytes(data / "smsplatform.db")
    for secret in (appkey, rotated, REPLY_PASSWORD, CONNECTOR_PASSWORD, LISTEN_PASSWORD):
        assert secret.encode() not in on_disk, secret


async def test_a_database_of_the_previous_schema_is_sealed_in_place_and_keeps_working(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "smsplatform.db"
    appkey = previous_schema_with_plaintext(f"sqlite:///{database}")
    assert appkey.encode() in checkpointed_bytes(database)
    settings = Settings(data_dir=data)
    db = open_database(settings)
    try:
        on_disk = checkpointed_bytes(database)
        for secret in (appkey, REPLY_PASSWORD, CONNECTOR_PASSWORD, LISTEN_PASSWORD):
            assert secret.encode() not in on_disk, secret
        assert await balance_status(db, settings, appkey) == "0"
        with db.engine.begin() as conn:
            link = connectors.get_connector(conn, "unicom")
            callbacks.enqueue_reply(conn, 1, {"replyid": "1", "content": "TD"}, now=1)
            [due] = callbacks.claim_due(conn, now=2, limit=10)
        assert (link.password, link.options) == (
            CONNECTOR_PASSWORD,
            {"listen_password": LISTEN_PASSWORD, "node_id": "3"},
        )
        assert (due.appkey, due.username, due.password) == (appkey, "me", REPLY_PASSWORD)
    finally:
        db.close()
    again = open_database(settings)  # sealing again finds nothing to do, and changes nothing
    try:
        with again.engine.begin() as conn:
            assert connectors.get_connector(conn, "unicom").password == CONNECTOR_PASSWORD
    finally:
        again.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}")
    admin = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    name = f"smsplatform_secrets_{os.urandom(4).hex()}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
async def test_postgres_is_sealed_in_place_and_refuses_another_key(postgres_url: str, tmp_path: Path) -> None:
    appkey = previous_schema_with_plaintext(postgres_url)
    key = base64.b64encode(os.urandom(32)).decode()
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, secret_key=key)
    db = open_database(settings)
    try:
        assert await balance_status(db, settings, appkey) == "0"
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM customers, accounts, connectors")).all()
        stored = repr(rows)
        for secret in (appkey, REPLY_PASSWORD, CONNECTOR_PASSWORD, LISTEN_PASSWORD):
            assert secret not in stored, secret
    finally:
        db.close()
    other = Settings(data_dir=tmp_path / "data", database_url=postgres_url)  # no key: none in data_dir
    with pytest.raises(SecretKeyError, match=r"^the secret key does not open this database: "):
        open_database(other)


# --- the schema: migrated once, by `smsplatform migrate`, on a scaled-out platform --------------------


def revision_of(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return schema_revision(engine)
    finally:
        engine.dispose()


def test_a_node_that_may_not_migrate_refuses_an_older_schema_and_leaves_it_as_it_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    url = f"sqlite:///{data / 'smsplatform.db'}"
    migrated_to(url, "0012")
    with pytest.raises(SchemaOutOfDate) as refused:
        open_database(Settings(data_dir=data, migrate=False))
    assert str(refused.value) == (
        f"the database is at revision 0012, this release needs {newest_revision()}: run `smsplatform migrate`"
    )
    assert revision_of(url) == "0012"
    open_database(Settings(data_dir=data)).close()  # a node that may migrate brings it to the newest
    assert revision_of(url) == newest_revision()
    open_database(Settings(data_dir=data, migrate=False)).close()  # and then the other opens it


def test_a_node_that_may_not_migrate_refuses_an_empty_database(tmp_path: Path) -> None:
    with pytest.raises(SchemaOutOfDate, match=r"^the database is empty \(no schema\), this release needs "):
        open_database(Settings(data_dir=tmp_path / "data", migrate=False))
    assert revision_of(f"sqlite:///{tmp_path / 'data' / 'smsplatform.db'}") is None


def test_a_database_migrated_by_a_newer_release_says_to_upgrade_the_node(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_database(Settings(data_dir=data)).close()
    url = f"sqlite:///{data / 'smsplatform.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(SchemaOutOfDate) as refused:
        open_database(Settings(data_dir=data, migrate=False))
    assert str(refused.value) == (
        f"the database is at revision 9999, newer than this release knows (it needs {newest_revision()}):"
        " upgrade this node to the release that migrated it"
    )


def test_serve_with_no_migrate_on_an_older_schema_exits_1_with_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    migrated_to(f"sqlite:///{data / 'smsplatform.db'}", "0012")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSPLATFORM_")}
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "smsplatform.cli",
            "serve",
            "--no-migrate",
            "--port",
            "0",
            "--data-dir",
            str(data),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 1, finished.stderr
    assert "Traceback" not in finished.stderr
    assert finished.stderr.strip().splitlines()[-1] == (
        f"error: the database is at revision 0012, this release needs {newest_revision()}:"
        " run `smsplatform migrate`"
    )


def test_the_migrate_command_migrates_where_the_nodes_settings_say_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("SMSPLATFORM_MIGRATE", "false")  # the environment every node shares
    assert cli.main(["customer", "list", "--data-dir", str(data)]) == 1
    assert "run `smsplatform migrate`" in capsys.readouterr().err
    assert cli.main(["migrate", "--json", "--data-dir", str(data)]) == 0
    assert json.loads(capsys.readouterr().out) == {"database": "migrated", "revision": newest_revision()}
    assert cli.main(["customer", "list", "--data-dir", str(data)]) == 0


@pytest.mark.postgres
def test_migrations_wait_for_the_one_already_running_on_postgres(postgres_url: str) -> None:
    """The advisory lock: a migration started while another holds it waits, then finds nothing to do."""
    holder = create_engine(postgres_url)
    migrating = create_engine(postgres_url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(migrating)
        except BaseException as exc:
            errors.append(exc)

    try:
        with holder.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            thread = threading.Thread(target=run)
            thread.start()
            wait_until(lambda: advisory_waiters(holder) == 1, 10, "the second migration waits for the lock")
            assert revision_of(postgres_url) is None  # nothing migrated while the lock is held
        thread.join(timeout=60)
        assert not errors and not thread.is_alive()
        assert revision_of(postgres_url) == newest_revision()
    finally:
        holder.dispose()
        migrating.dispose()


def advisory_waiters(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        )


@pytest.mark.postgres
def test_serve_warns_once_when_postgres_runs_with_autovacuum_off(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            off = conn.execute(sa.text("SHOW autovacuum")).scalar_one() == "off"
    finally:
        engine.dispose()
    with caplog.at_level(logging.WARNING, logger="smsplatform.datastore"):
        warn_of_server_settings(Settings(database_url=postgres_url))
    warned = [r.getMessage() for r in caplog.records if "autovacuum off" in r.getMessage()]
    assert len(warned) == (1 if off else 0), warned
    if off:
        assert "set autovacuum = on" in warned[0] and "@" not in warned[0]
