"""/operators and /tokens: who may use the console and the API, and their tokens."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import auth
from smsplatform.admin.actors import Actor, Role
from smsplatform.admin.api.endpoint import Endpoint
from smsplatform.store.operators import Operator


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: `token` is shown this once and kept only as a hash."""

    id: int
    operator: str
    name: str
    created_at: int
    token: str


def create_operator(conn: sa.Connection, actor: Actor, name: str, role: Role, password: str) -> Operator:
    """Add an operator who logs in to the console with this password (at least 10 characters)."""
    return auth.create_operator(conn, actor, name, role, password)


def update_operator(
    conn: sa.Connection, actor: Actor, name: str, role: Role | None = None, enabled: bool | None = None
) -> Operator:
    """Change an operator's role, or disable (and enable) them: a disabled one's tokens stop working."""
    return auth.set_operator(conn, actor, name, role=role, enabled=enabled)


def set_password(conn: sa.Connection, actor: Actor, name: str, password: str) -> None:
    """Give an operator a new password (at least 10 characters)."""
    auth.set_password(conn, actor, name, password)


def create_token(conn: sa.Connection, actor: Actor, operator: str, name: str = "") -> NewToken:
    """Make an API token for an operator; the answer is the only place the token appears."""
    created, token = auth.create_token(conn, actor, operator, name)
    return NewToken(created.id, created.operator, created.name, created.created_at, token)


ENDPOINTS = [
    Endpoint("GET", "/operators", auth.list_operators, "List the operators"),
    Endpoint(
        "POST",
        "/operators",
        create_operator,
        status=201,
        params={
            "name": f"1–{auth.MAX_NAME} printable characters, no spaces",
            "password": f"At least {auth.MIN_PASSWORD_LENGTH} characters",
        },
    ),
    Endpoint("PATCH", "/operators/{name}", update_operator),
    Endpoint("PUT", "/operators/{name}/password", set_password),
    Endpoint("GET", "/tokens", auth.list_tokens, "List the API tokens (never the tokens themselves)"),
    Endpoint(
        "POST",
        "/tokens",
        create_token,
        status=201,
        params={"operator": "The operator the token acts as", "name": "What the token is for, e.g. grafana"},
    ),
    Endpoint("DELETE", "/tokens/{token_id}", auth.revoke_token, "Revoke a token: it stops working at once"),
]
