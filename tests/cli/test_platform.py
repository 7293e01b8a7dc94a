"""blackword, prefix, pin, route, api and settings on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsplatform.store import settings as switches
from tests.cli.conftest import Cli


def test_blackword_add_remove_list(run: Cli) -> None:
    assert run.json("blackword", "add", "赌博", "VPN", "赌博") == {
        "added": ["VPN", "赌博"],
        "already_listed": [],
    }
    assert run.json("blackword", "add", "赌博") == {"added": [], "already_listed": ["赌博"]}
    assert [w["word"] for w in run.json("blackword", "list")] == ["VPN", "赌博"]
    assert run.json("blackword", "remove", "VPN", "不存在") == {"removed": ["VPN"], "not_listed": ["不存在"]}
    assert run.ok("blackword", "list").split() == ["赌博"]
    assert [e["action"] for e in run.json("audit", "list")] == ["word.remove", "word.add"]


def test_blackword_import(run: Cli, tmp_path: Path) -> None:
    listing = tmp_path / "words.txt"
    listing.write_text("\ufeff# 运营商清单\n赌博\n\n  代开发票  \n# 注释\n赌博\n", encoding="utf-8")
    imported = run.json("blackword", "import", str(listing))
    assert (imported["read"], sorted(imported["added"])) == (3, sorted(["赌博", "代开发票"]))
    assert "added:" in run.ok("blackword", "import", str(listing))
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
    assert on_both.json("blackword", "add", "词" * 100)["added"] == ["词" * 100]


def test_prefixes_and_pins(run: Cli) -> None:
    assert run.json("prefix", "set", "1990001", "Unicom") == {"prefix": "1990001", "carrier": "unicom"}
    assert run.json("prefix", "list") == [{"prefix": "1990001", "carrier": "unicom"}]
    assert run.json("prefix", "remove", "1990001") == {"prefix": "1990001", "carrier": "unicom"}
    assert "not found: prefix 1990001" in run.fails("prefix", "remove", "1990001")
    assert "3 to 7 digits" in run.fails("prefix", "set", "19", "mobile")
    run.fails("prefix", "set", "199", "orange", code=2)
    assert run.json("pin", "set", "+8613800138000", "telecom") == {
        "mobile": "13800138000",
        "carrier": "telecom",
    }
    assert run.json("pin", "list") == [{"mobile": "13800138000", "carrier": "telecom"}]
    assert run.json("pin", "remove", "8613800138000") == {"mobile": "13800138000", "carrier": "telecom"}
    assert "not a mainland mobile number" in run.fails("pin", "set", "12345", "mobile")


def test_routes_show_where_each_entry_comes_from(run: Cli) -> None:
    table = run.ok("route", "list")
    assert [line.split()[:3] for line in table.splitlines()[1:5]] == [
        ["mobile", "sim-cmpp", "built-in"],
        ["unicom", "sim-sgip", "built-in"],
        ["telecom", "sim-smgp", "built-in"],
        ["broadnet", "sim-smgp", "built-in"],
    ]
    run.ok(
        "connector", "add", "cm-gw", "--protocol", "cmpp", "--host", "10.0.0.1", "--port", "7890",
        "--system-id", "901234", "--password", "pw", "--carriers", "mobile",
    )  # fmt: skip
    assert "cm-gw" in run.ok("route", "list").splitlines()[1] and "declared" in run.ok("route", "list")
    assert run.ok("route", "set", "unicom", "sim-smpp", "cm-gw").splitlines()[1].split() == [
        "unicom",
        "sim-smpp",
        "→",
        "cm-gw",
        "route",
    ]
    routes = {r["carrier"]: r["connectors"] for r in run.json("route", "list")}
    assert routes["unicom"] == [
        {"connector": "sim-smpp", "source": "route"},
        {"connector": "cm-gw", "source": "route"},
    ]
    assert "not found: connector nosuch" in run.fails("route", "set", "mobile", "nosuch")
    cleared = run.json("route", "clear", "unicom")
    assert cleared["connectors"] == [{"connector": "sim-sgip", "source": "built-in default"}]


def test_api_switches(run: Cli) -> None:
    assert run.json("api", "maintenance", "on")["maintenance"] is True
    assert run.database(switches.get_setting, switches.MAINTENANCE) == "1"
    run.ok("api", "maintenance", "off")
    assert run.database(switches.get_setting, switches.MAINTENANCE) == "0"
    assert run.json("api", "disable", "send")["disabled_endpoints"] == ["send"]
    assert run.json("api", "disable", "balance")["disabled_endpoints"] == ["balance", "send"]
    assert run.json("api", "enable", "send")["disabled_endpoints"] == ["balance"]
    assert run.json("api", "status")["disabled_endpoints"] == ["balance"]
    assert run.database(switches.get_setting, switches.DISABLED_ENDPOINTS) == "balance"
    run.fails("api", "disable", "nosuch", code=2)
    run.fails("api", "maintenance", "maybe", code=2)


def test_settings_are_shown_with_secrets_masked(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMSPLATFORM_ADMIN_SECRET", "s3cret-key")
    monkeypatch.setenv("SMSPLATFORM_DATABASE_URL", "postgresql://sms:hunter2@db.invalid/sms")
    code, out, err = run.run("settings")
    assert code == 0, err
    assert "s3cret-key" not in out and "hunter2" not in out
    assert "admin_secret" in out and "environment" in out
