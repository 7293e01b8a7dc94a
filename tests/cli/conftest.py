"""The command line run in-process against one database, as an operator types it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from smsplatform import cli
from smsplatform.store import secrets
from smsplatform.store.database import create_engine
from tests.api.fast_databases import BACKENDS, fresh_database_url, fresh_sqlite_url

# The platform's secret key for these tests, as an operator gives it in the environment: a command given
# only a database URL would otherwise keep its key in ./data.
SECRET_KEY = secrets.encode_key(secrets.new_key())


@pytest.fixture(autouse=True)
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SMSPLATFORM_SECRET_KEY", SECRET_KEY)
    return SECRET_KEY


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database on each backend, made faster than by cloning one per test."""
    return fresh_database_url(request)


class Cli:
    """`smsplatform` run in-process against one database."""

    def __init__(self, capsys: pytest.CaptureFixture[str], location: list[str], url: str) -> None:
        self.capsys = capsys
        self.location = location
        self.url = url

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = cli.main([*args, *self.location])
        except SystemExit as exc:  # argparse refusing the command line
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    def ok(self, *args: str) -> str:
        code, out, err = self.run(*args)
        assert code == 0, err
        # No Python reprs reach the operator.
        assert "None" not in out and "datetime" not in out and "Info(" not in out, out
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int = 1) -> str:
        actual, out, err = self.run(*args)
        assert actual == code, (out, err)
        assert err.strip(), "an error says what is wrong"
        if code == 1:
            assert err.startswith("error: ") and err.count("\n") == 1, err
        return err

    def database(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """`fn(conn, ...)` in a transaction of its own, on the database the commands use, with its key."""
        engine = create_engine(self.url)
        secrets.bind(engine, secrets.SecretBox(secrets.decode_key(SECRET_KEY, source="the tests")))
        try:
            with engine.begin() as conn:
                return fn(conn, *args, **kwargs)
        finally:
            engine.dispose()


@pytest.fixture
def run(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    """SQLite in a data directory (already migrated, to keep the many commands fast)."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copyfile(fresh_sqlite_url(request).removeprefix("sqlite:///"), data / "smsplatform.db")
    return Cli(capsys, ["--data-dir", str(data)], f"sqlite:///{data / 'smsplatform.db'}")


@pytest.fixture
def on_both(capsys: pytest.CaptureFixture[str], database_url: str) -> Cli:
    return Cli(capsys, ["--database-url", database_url], database_url)
