"""The operator's command line: every action on the same database as `serve`, clear errors, no tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from smsplatform import cli
from smsplatform.store import accounts, templates
from smsplatform.store import settings as switches
from smsplatform.store.database import create_engine
from smsplatform.store.templates import TemplateDraft
from tests.api.fast_databases import BACKENDS, fresh_database_url, fresh_sqlite_url


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
        return out

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int = 1) -> str:
        actual, out, err = self.run(*args)
        assert actual == code, (out, err)
        assert err.strip(), "an error says what is wrong"
        return err

    def database(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        engine = create_engine(self.url)
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


def account(run: Cli, customer_id: int, signature: str = "【甲方】", totalnum: int = 10) -> int:
    fields = {"company": "公司", "signature": signature, "totalnum": totalnum}
    created = run.database(accounts.create_account, customer_id, fields, approve=False)
    return int(created.id)


def template(run: Cli, account_id: int, name: str = "通知") -> int:
    draft = TemplateDraft(name, "您好@", 0, "notification", 0, "")
    return int(run.database(templates.create_template, account_id, draft).id)


# --- customers ---------------------------------------------------------------------------------


def test_customer_create_prints_the_appkey(run: Cli) -> None:
    appkey = run.ok("customer", "create", "--name", "进制数据", "--totalnum", "1000").strip()
    assert len(appkey) == 32
    listed = run.json("customer", "list")
    assert [(c["name"], c["appkey"], c["totalnum"], c["allocated"]) for c in listed] == [
        ("进制数据", appkey, 1000, 0)
    ]
    assert "进制数据" in run.ok("customer", "list")


def test_customer_create_with_every_option(run: Cli) -> None:
    created = run.json(
        "customer",
        "create",
        "--name",
        "甲",
        "--totalnum",
        "5",
        "--expires",
        "2030-01-31",
        "--allow-ip",
        "10.0.0.1",
        "--allow-ip",
        "192.168.0.0/16",
        "--daily-limit",
        "100",
    )
    assert created["expires_at"] == 1896134399  # 2030-01-31 23:59:59 UTC: the whole day works
    assert created["allow_ips"] == ["10.0.0.1/32", "192.168.0.0/16"]
    assert (created["daily_request_limit"], created["enabled"]) == (100, True)


def test_customer_topup_disable_enable(run: Cli) -> None:
    customer_id = run.json("customer", "create", "--name", "甲", "--totalnum", "5")["id"]
    assert run.json("customer", "topup", str(customer_id), "10")["totalnum"] == 15
    assert run.json("customer", "disable", str(customer_id))["enabled"] is False
    assert run.json("customer", "enable", str(customer_id))["enabled"] is True
    account(run, customer_id, totalnum=12)
    assert run.json("customer", "list")[0]["allocated"] == 12


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "create", "--totalnum", "5"],
        ["customer", "create", "--name", "x", "--totalnum", "0"],
        ["customer", "create", "--name", "x", "--totalnum", "-3"],
        ["customer", "create", "--name", "x", "--totalnum", "many"],
        ["customer", "create", "--name", "x", "--totalnum", "5", "--expires", "31/01/2030"],
        ["customer", "create", "--name", "x", "--totalnum", "5", "--allow-ip", "10.0.0.300"],
        ["customer", "create", "--name", "x", "--totalnum", "5", "--daily-limit", "0"],
        ["customer", "create", "--name", "", "--totalnum", "5"],
        ["customer", "create", "--name", "名" * 101, "--totalnum", "5"],
        ["customer", "topup", "1", "0"],
        ["customer", "topup", "one", "5"],
        ["customer", "frobnicate"],
        ["account", "reject", "1"],
        ["account", "reject", "1", "--reason", "因" * 501],
        ["template", "reject", "1", "--reason", " "],
        ["account", "limits", "1", "--kind", "spam", "--limits", "1/60"],
        ["api", "disable", "nosuch"],
        ["api", "maintenance", "maybe"],
        [],
    ],
)
def test_bad_command_lines_exit_2_with_usage(run: Cli, args: list[str]) -> None:
    err = run.fails(*args, code=2)
    assert "usage:" in err


def test_unknown_ids_exit_1_and_say_so(run: Cli) -> None:
    for args in (
        ["customer", "topup", "999", "5"],
        ["customer", "disable", "999"],
        ["account", "approve", "999"],
        ["account", "reject", "999", "--reason", "x"],
        ["account", "disable", "999"],
        ["account", "exempt", "999"],
        ["account", "limits", "999", "--kind", "marketing", "--limits", "1/60"],
        ["template", "approve", "999"],
        ["template", "reject", "999", "--reason", "x"],
    ):
        err = run.fails(*args)
        assert err.startswith("error: not found:") and "999" in err, args


# --- sub-accounts ------------------------------------------------------------------------------


def test_account_review(run: Cli) -> None:
    customer_id = run.json("customer", "create", "--name", "甲", "--totalnum", "100")["id"]
    first, second, third = (account(run, customer_id, s) for s in ("【甲方】", "【乙方】", "【丙方】"))
    pending = run.json("account", "list", "--pending")
    assert [a["id"] for a in pending] == [first, second, third]
    assert run.json("account", "approve", str(first))["status"] == 1
    rejected = run.json("account", "reject", str(second), "--reason", "资质不全")
    assert (rejected["status"], rejected["failreason"]) == (2, "资质不全")
    assert run.json("account", "disable", str(third))["status"] == 3
    assert run.json("account", "list", "--pending") == []
    assert [a["status"] for a in run.json("account", "list")] == [1, 2, 3]
    err = run.fails("account", "approve", str(third))
    assert "disabled" in err
    assert run.ok("account", "list", "--pending").strip() == "(none)"


def test_account_exempt_and_limits(run: Cli) -> None:
    customer_id = run.json("customer", "create", "--name", "甲", "--totalnum", "100")["id"]
    account_id = str(account(run, customer_id))
    assert run.json("account", "exempt", account_id)["istemnocheck"] == 1
    assert run.json("account", "exempt", account_id, "--undo")["istemnocheck"] == 0
    limited = run.json("account", "limits", account_id, "--kind", "verification", "--limits", "1/60,3/1h")
    assert limited["freq_limits"] == {"verification": "1/60,3/1h"}
    both = run.json("account", "limits", account_id, "--kind", "marketing", "--limits", "2/d")
    assert both["freq_limits"] == {"verification": "1/60,3/1h", "marketing": "2/d"}
    reset = run.json("account", "limits", account_id, "--kind", "verification", "--reset")
    assert reset["freq_limits"] == {"marketing": "2/d"}
    assert "bad limits" in run.fails("account", "limits", account_id, "--kind", "marketing", "--limits", "x")
    assert "--limits" in run.fails("account", "limits", account_id, "--kind", "marketing")
    assert run.database(accounts.get_account, int(account_id)).freq_limits == {"marketing": "2/d"}


# --- templates ---------------------------------------------------------------------------------


def test_template_review(run: Cli) -> None:
    customer_id = run.json("customer", "create", "--name", "甲", "--totalnum", "100")["id"]
    account_id = account(run, customer_id)
    first, second = template(run, account_id, "一"), template(run, account_id, "二")
    assert [t["id"] for t in run.json("template", "list", "--pending")] == [first, second]
    assert run.json("template", "approve", str(first))["status"] == 1
    rejected = run.json("template", "reject", str(second), "--reason", "含有链接")
    assert (rejected["status"], rejected["failreason"]) == (2, "含有链接")
    assert run.json("template", "list", "--pending") == []
    assert len(run.json("template", "list")) == 2
    assert "already approved" in run.fails("template", "approve", str(first))


# --- sensitive words ---------------------------------------------------------------------------


def test_blackword_add_remove_list(run: Cli) -> None:
    assert run.json("blackword", "add", "赌博", "VPN", "赌博") == {"added": 2}
    assert run.json("blackword", "add", "赌博") == {"added": 0}
    assert run.json("blackword", "list") == sorted(["赌博", "VPN"])
    assert run.json("blackword", "remove", "VPN", "不存在") == {"removed": 1}
    assert run.ok("blackword", "list").split() == ["赌博"]


def test_blackword_import(run: Cli, tmp_path: Path) -> None:
    listing = tmp_path / "words.txt"
    listing.write_text("\ufeff# 运营商清单\n赌博\n\n  代开发票  \n# 注释\n赌博\n", encoding="utf-8")
    assert run.json("blackword", "import", str(listing)) == {"read": 3, "added": 2}
    assert run.json("blackword", "list") == sorted(["赌博", "代开发票"])
    assert "cannot read" in run.fails("blackword", "import", str(tmp_path / "missing.txt"))
    binary = tmp_path / "words.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "cannot read" in run.fails("blackword", "import", str(binary))


def test_overlong_words_are_refused_alike_on_both_backends(on_both: Cli, tmp_path: Path) -> None:
    assert "at most 100" in on_both.fails("blackword", "add", "短词", "词" * 101)
    listing = tmp_path / "words.txt"
    listing.write_text("好词\n" + "词" * 101 + "\n", encoding="utf-8")
    assert "at most 100" in on_both.fails("blackword", "import", str(listing))
    assert on_both.json("blackword", "list") == []
    assert on_both.json("blackword", "add", "词" * 100) == {"added": 1}


# --- routing and switches ----------------------------------------------------------------------


def test_prefixes_and_pins(run: Cli) -> None:
    assert run.json("prefix", "set", "1990001", "Unicom") == {"prefix": "1990001", "carrier": "unicom"}
    assert run.json("prefix", "list") == [{"prefix": "1990001", "carrier": "unicom"}]
    assert run.json("prefix", "remove", "1990001") == {"removed": 1}
    assert "3 to 7 digits" in run.fails("prefix", "set", "19", "mobile")
    run.fails("prefix", "set", "199", "orange", code=2)
    assert run.json("pin", "set", "+8613800138000", "telecom") == {
        "mobile": "13800138000",
        "carrier": "telecom",
    }
    assert run.json("pin", "list") == [{"mobile": "13800138000", "carrier": "telecom"}]
    assert run.json("pin", "remove", "8613800138000") == {"removed": 1}
    assert "not a mainland mobile number" in run.fails("pin", "set", "12345", "mobile")


def test_api_switches(run: Cli) -> None:
    assert run.json("api", "maintenance", "on") == {"maintenance": "on"}
    assert run.database(switches.get_setting, switches.MAINTENANCE) == "1"
    run.ok("api", "maintenance", "off")
    assert run.database(switches.get_setting, switches.MAINTENANCE) == "0"
    assert run.json("api", "disable", "send") == {"disabled_endpoints": ["send"]}
    assert run.json("api", "disable", "balance") == {"disabled_endpoints": ["balance", "send"]}
    assert run.json("api", "enable", "send") == {"disabled_endpoints": ["balance"]}
    assert run.database(switches.get_setting, switches.DISABLED_ENDPOINTS) == "balance"


# --- where the database is ---------------------------------------------------------------------


def test_database_url_on_both_backends(on_both: Cli) -> None:
    appkey = on_both.ok("customer", "create", "--name", "甲", "--totalnum", "5").strip()
    assert on_both.json("customer", "list")[0]["appkey"] == appkey
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


def test_as_a_process(tmp_path: Path) -> None:
    data = str(tmp_path / "data")

    def smsplatform(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "smsplatform.cli", *args, "--data-dir", data]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    created = smsplatform("customer", "create", "--name", "甲", "--totalnum", "5")
    assert created.returncode == 0 and len(created.stdout.strip()) == 32
    missing = smsplatform("customer", "topup", "42", "5")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: not found: customer 42")
