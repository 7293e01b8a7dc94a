"""Operators, passwords, tokens and the audit log they leave (both backends)."""

from __future__ import annotations

import json

import pytest

from smsplatform.admin import audit, auth
from smsplatform.admin.actors import Actor, Forbidden, Role, Via, cli_actor
from smsplatform.store.database import Database
from smsplatform.store.errors import NotFound
from smsplatform.store.operators import OperatorExists
from smsplatform.store.schema import operator_tokens, operators

ROOT = cli_actor("root")
PASSWORD = "correct horse battery"


def test_an_operator_logs_in_with_its_password_only(db: Database) -> None:
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "alice", Role.ADMIN, PASSWORD)
    with db.engine.begin() as conn:
        assert auth.authenticate(conn, "alice", PASSWORD) is not None
        assert auth.authenticate(conn, "alice", PASSWORD + "x") is None
        assert auth.authenticate(conn, "bob", PASSWORD) is None
        stored = conn.execute(operators.select()).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_disabled_operator_cannot_log_in_or_use_a_token(db: Database) -> None:
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "alice", Role.ADMIN, PASSWORD)
        _, token = auth.create_token(conn, ROOT, "alice", "ci")
        assert auth.operator_for_token(conn, token) is not None
        auth.set_operator(conn, ROOT, "alice", enabled=False)
        assert auth.authenticate(conn, "alice", PASSWORD) is None
        assert auth.operator_for_token(conn, token) is None


def test_tokens_are_kept_only_as_hashes_and_can_be_revoked(db: Database) -> None:
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "ops", Role.REVIEWER, PASSWORD)
        created, token = auth.create_token(conn, ROOT, "ops", "grafana")
        found = auth.operator_for_token(conn, token)
        assert found is not None and (found.name, found.role) == ("ops", "reviewer")
        assert auth.operator_for_token(conn, token[:-1] + "x") is None
        assert auth.operator_for_token(conn, "not-a-token") is None
        kept = conn.execute(operator_tokens.select()).one().token_hash
        assert token not in kept
        auth.revoke_token(conn, ROOT, created.id)
        assert auth.operator_for_token(conn, token) is None


def test_weak_passwords_duplicate_names_and_bad_names_are_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        with pytest.raises(auth.WeakPassword):
            auth.create_operator(conn, ROOT, "alice", Role.ADMIN, "short")
        auth.create_operator(conn, ROOT, "alice", Role.ADMIN, PASSWORD)
        with pytest.raises(OperatorExists):
            auth.create_operator(conn, ROOT, "alice", Role.REVIEWER, PASSWORD)
        with pytest.raises(ValueError):
            auth.create_operator(conn, ROOT, "two words", Role.ADMIN, PASSWORD)
        with pytest.raises(NotFound):
            auth.create_token(conn, ROOT, "nobody")


def test_a_reviewer_cannot_manage_operators(db: Database) -> None:
    reviewer = Actor("rita", Role.REVIEWER, Via.CONSOLE)
    with db.engine.begin() as conn, pytest.raises(Forbidden):
        auth.create_operator(conn, reviewer, "mallory", Role.ADMIN, PASSWORD)


def test_changes_are_audited_with_secrets_masked(db: Database) -> None:
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "alice", Role.REVIEWER, PASSWORD)
        auth.set_operator(conn, ROOT, "alice", role=Role.ADMIN)
        audit.record(
            conn,
            ROOT,
            "connector.update",
            "connector a",
            before={"password": "old"},
            after={"password": "new"},
        )
    with db.engine.begin() as conn:
        entries = audit.list_audit(conn, ROOT)
        only_operators = audit.list_audit(conn, ROOT, action="operator")
    assert [e.action for e in entries] == ["connector.update", "operator.update", "operator.create"]
    assert [e.action for e in only_operators] == ["operator.update", "operator.create"]
    update = entries[1]
    assert (update.operator, update.via, update.target) == ("root", "cli", "operator alice")
    assert json.loads(update.before)["role"] == "reviewer" and json.loads(update.after)["role"] == "admin"
    assert "old" not in entries[0].before and "new" not in entries[0].after
    assert PASSWORD not in "".join(e.before + e.after for e in entries)


def test_a_tokens_use_is_noted_to_the_minute(db: Database) -> None:
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "ops", Role.REVIEWER, PASSWORD)
        _, token = auth.create_token(conn, ROOT, "ops", "grafana")
        assert auth.list_tokens(conn, ROOT)[0].last_used_at is None
        found = auth.token_operator(conn, token)
        assert found is not None and found[1], "a token never used is due to be noted"
        assert auth.operator_for_token(conn, token) is not None
        assert auth.list_tokens(conn, ROOT)[0].last_used_at is not None
        found = auth.token_operator(conn, token)
        assert found is not None and not found[1], "used a moment ago: nothing to note"
