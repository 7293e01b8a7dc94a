"""The command line as a whole: flags anywhere, where the database is, errors, and as a real process."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from smsplatform import cli
from tests.cli.conftest import Cli

PASSWORD = "correct horse battery"


def test_json_is_accepted_anywhere_on_the_line(run: Cli) -> None:
    run.ok("customer", "create", "--name", "甲", "--totalnum", "5")
    for args in (
        ["--json", "customer", "list"],
        ["customer", "--json", "list"],
        ["customer", "list", "--json"],
    ):
        code, out, err = run.run(*args)
        assert code == 0, err
        assert json.loads(out)[0]["name"] == "甲", args


def test_database_url_on_both_backends(on_both: Cli) -> None:
    appkey = on_both.ok("customer", "create", "--name", "甲", "--totalnum", "5").strip()
    assert len(appkey) == 32 and on_both.json("customer", "list")[0]["name"] == "甲"
    count = on_both.database(lambda conn: conn.execute(sa.text("SELECT count(*) FROM customers")).scalar())
    assert count == 1


def test_flags_before_or_after_the_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = str(tmp_path / "d")
    assert cli.main(["--data-dir", data, "customer", "create", "--name", "甲", "--totalnum", "5"]) == 0
    capsys.readouterr()
    assert cli.main(["customer", "list", "--json", "--data-dir", data]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_settings_file_names_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "smsplatform.toml"
    config.write_text(f'data_dir = "{tmp_path / "from-config"}"\n', encoding="utf-8")
    assert cli.main(["migrate", "--config", str(config)]) == 0
    assert (tmp_path / "from-config" / "smsplatform.db").exists()
    config.write_text("data_dir = [\n", encoding="utf-8")
    assert cli.main(["migrate", "--config", str(config)]) == 1
    assert capsys.readouterr().err.startswith("error: config file")


def test_a_data_dir_that_cannot_be_made(run: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = cli.main(["customer", "list", "--data-dir", str(blocker / "data")])
    err = run.capsys.readouterr().err
    assert code == 1 and err.startswith("error:") and "Traceback" not in err


def test_refusals_name_the_rule(run: Cli) -> None:
    run.ok("customer", "create", "--name", "甲", "--totalnum", "5")
    run.ok("connector", "add", "gw", "--protocol", "smpp", "--host", "h", "--port", "1", "--system-id", "s",
           "--password", "p")  # fmt: skip
    err = run.fails("connector", "add", "gw", "--protocol", "smpp", "--host", "h", "--port", "1",
                    "--system-id", "s", "--password", "p")  # fmt: skip
    assert err == "error: a connector named gw exists already\n"


# --- as a process ------------------------------------------------------------------------------


def smsplatform(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "smsplatform.cli", *args, "--data-dir", str(data)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, input=stdin)


def test_as_a_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = smsplatform(data, "customer", "create", "--name", "甲", "--totalnum", "5")
    assert created.returncode == 0 and len(created.stdout.strip()) == 32
    missing = smsplatform(data, "customer", "topup", "42", "5")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: not found: customer 42")


def test_the_password_from_stdin(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = smsplatform(
        data, "operator", "create", "ops", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    assert PASSWORD not in created.stdout and "ops" in created.stdout
    asked = smsplatform(data, "operator", "create", "rita", "--role", "reviewer", stdin="")
    assert asked.returncode == 1 and "--password-stdin" in asked.stderr


def test_quiet_on_a_closed_pipe(tmp_path: Path) -> None:
    data = tmp_path / "data"
    words = tmp_path / "words.txt"
    words.write_text("\n".join(f"词{i:05d}" for i in range(20000)), encoding="utf-8")
    assert smsplatform(data, "blackword", "import", str(words)).returncode == 0
    err, status = tmp_path / "err", tmp_path / "status"
    listing = shlex.join(
        [sys.executable, "-m", "smsplatform.cli", "blackword", "list", "--data-dir", str(data)]
    )
    for reader, first_line in (("head -1", "词00000"), ("true", "")):  # true reads nothing: a sure EPIPE
        pipeline = f"({listing} 2>{shlex.quote(str(err))}; echo $? >{shlex.quote(str(status))}) | {reader}"
        shown = subprocess.run(
            ["sh", "-c", pipeline], capture_output=True, text=True, timeout=60, check=False
        )
        assert shown.stdout.strip() == first_line
        assert err.read_text() == "", reader
        assert int(status.read_text()) in (0, cli.CLOSED_PIPE), reader
    assert int(status.read_text()) == cli.CLOSED_PIPE


@pytest.mark.skipif(
    not os.access(Path(sys.executable).parent / "smsplatform", os.X_OK), reason="not installed"
)
def test_the_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "smsplatform"
    done = subprocess.run(
        [str(script), "api", "status", "--json", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["maintenance"] is False
