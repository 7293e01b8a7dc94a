"""operator and audit on the command line."""

from __future__ import annotations

import io

import pytest

from smsplatform.admin import auth
from tests.cli.conftest import Cli

PASSWORD = "correct horse battery"


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_operator_create_from_stdin_and_log_in(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    created = run.json("operator", "create", "alice", "--role", "reviewer", "--password-stdin")
    assert (created["name"], created["role"], created["enabled"]) == ("alice", "reviewer", True)
    assert run.database(auth.authenticate, "alice", PASSWORD) is not None
    assert [o["name"] for o in run.json("operator", "list")] == ["alice"]
    _stdin(monkeypatch, "short\n")
    assert "at least 10 characters" in run.fails(
        "operator", "create", "bob", "--role", "admin", "--password-stdin"
    )
    _stdin(monkeypatch, PASSWORD + "\n")
    assert "exists" in run.fails("operator", "create", "alice", "--role", "admin", "--password-stdin")
    run.fails("operator", "create", "carol", "--role", "root", "--password-stdin", code=2)


def test_without_a_terminal_the_password_must_come_on_stdin(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, "")
    assert "--password-stdin" in run.fails("operator", "create", "alice", "--role", "admin")
    assert "no password" in run.fails("operator", "create", "alice", "--role", "admin", "--password-stdin")


def test_operator_role_disable_enable_password(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    run.ok("operator", "create", "alice", "--role", "reviewer", "--password-stdin")
    assert run.json("operator", "role", "alice", "admin")["role"] == "admin"
    assert run.json("operator", "disable", "alice")["enabled"] is False
    assert run.database(auth.authenticate, "alice", PASSWORD) is None
    assert run.json("operator", "enable", "alice")["enabled"] is True
    _stdin(monkeypatch, PASSWORD + "!\n")
    assert "changed" in run.ok("operator", "password", "alice", "--password-stdin")
    assert run.database(auth.authenticate, "alice", PASSWORD + "!") is not None
    assert "not found" in run.fails("operator", "disable", "nobody")


def test_tokens_are_printed_once(run: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, PASSWORD + "\n")
    run.ok("operator", "create", "alice", "--role", "admin", "--password-stdin")
    token = run.ok("operator", "token", "create", "alice", "--label", "grafana").strip()
    assert token.startswith("smsop_") and "\n" not in token
    assert run.database(auth.operator_for_token, token) is not None
    listed = run.ok("operator", "token", "list")
    assert "grafana" in listed and token not in listed and token not in run.ok("audit", "list")
    created = run.json("operator", "token", "create", "alice")
    assert created["token"].startswith("smsop_") and created["operator"] == "alice"
    run.ok("operator", "token", "revoke", "1")
    assert run.database(auth.operator_for_token, token) is None
    assert "not found" in run.fails("operator", "token", "revoke", "99")
    assert "not found" in run.fails("operator", "token", "create", "nobody")


def test_audit_list_filters_and_shows_what_changed(run: Cli) -> None:
    run.ok("customer", "create", "--name", "甲", "--totalnum", "5")
    run.ok("customer", "topup", "1", "10")
    run.ok("blackword", "add", "赌博")
    table = run.ok("audit", "list", "--action", "customer")
    lines = table.splitlines()
    assert lines[0].split() == ["id", "at", "operator", "via", "action", "target", "change"]
    assert "customer.topup" in lines[1] and "totalnum: 5 → 15" in lines[1] and " cli " in lines[1]
    assert [e["action"] for e in run.json("audit", "list", "--limit", "1")] == ["word.add"]
    entry = run.json("audit", "list", "--action", "customer.topup")[0]
    assert (entry["before"]["totalnum"], entry["after"]["totalnum"]) == (5, 15)
    assert run.json("audit", "list", "--operator", "nobody") == []
    assert run.json("audit", "list", "--since", "2000-01-01", "--until", "2000-01-02") == []
    run.fails("audit", "list", "--since", "yesterday", code=2)
