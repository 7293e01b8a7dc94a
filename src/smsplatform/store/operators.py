"""Operators of the console and their management-API tokens.

Passwords arrive here already hashed (argon2, in `admin/auth.py`); tokens by their SHA-256, so a copy
of the database reveals neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from smsplatform.store.clock import now
from smsplatform.store.errors import NotFound, StoreError
from smsplatform.store.schema import operator_tokens, operators


class OperatorExists(StoreError):
    """An operator of that name exists already."""


@dataclass(frozen=True, slots=True)
class Operator:
    id: int
    name: str
    role: str
    enabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class OperatorToken:
    id: int
    operator: str
    name: str
    created_at: int
    last_used_at: int | None


_OPERATOR_COLUMNS = (
    operators.c.id,
    operators.c.name,
    operators.c.role,
    operators.c.enabled,
    operators.c.created_at,
)


def _operator(row: sa.Row[*tuple[Any, ...]]) -> Operator:
    m = row._mapping
    return Operator(m["id"], m["name"], m["role"], bool(m["enabled"]), m["created_at"])


def create_operator(conn: sa.Connection, name: str, role: str, password_hash: str) -> Operator:
    if conn.execute(sa.select(operators.c.id).where(operators.c.name == name)).first() is not None:
        raise OperatorExists(name)
    at = now()
    new_id = conn.execute(
        sa.insert(operators)
        .values(name=name, role=role, password_hash=password_hash, created_at=at)
        .returning(operators.c.id)
    ).scalar_one()
    return Operator(new_id, name, role, True, at)


def get_operator(conn: sa.Connection, name: str) -> Operator:
    row = conn.execute(sa.select(*_OPERATOR_COLUMNS).where(operators.c.name == name)).first()
    if row is None:
        raise NotFound(f"operator {name}")
    return _operator(row)


def list_operators(conn: sa.Connection) -> list[Operator]:
    return [_operator(r) for r in conn.execute(sa.select(*_OPERATOR_COLUMNS).order_by(operators.c.name))]


def password_hash_of(conn: sa.Connection, name: str) -> tuple[Operator, str] | None:
    """The operator and its stored hash, for a login; None for an unknown name."""
    row = conn.execute(
        sa.select(*_OPERATOR_COLUMNS, operators.c.password_hash).where(operators.c.name == name)
    ).first()
    return None if row is None else (_operator(row), str(row.password_hash))


def set_password_hash(conn: sa.Connection, name: str, password_hash: str) -> None:
    updated = conn.execute(
        sa.update(operators).where(operators.c.name == name).values(password_hash=password_hash)
    ).rowcount
    if not updated:
        raise NotFound(f"operator {name}")


def set_operator(
    conn: sa.Connection, name: str, *, role: str | None = None, enabled: bool | None = None
) -> Operator:
    values: dict[str, object] = {}
    if role is not None:
        values["role"] = role
    if enabled is not None:
        values["enabled"] = enabled
    if (
        values
        and not conn.execute(sa.update(operators).where(operators.c.name == name).values(**values)).rowcount
    ):
        raise NotFound(f"operator {name}")
    return get_operator(conn, name)


def add_token(conn: sa.Connection, operator_name: str, name: str, token_hash: str) -> OperatorToken:
    operator = get_operator(conn, operator_name)
    at = now()
    new_id = conn.execute(
        sa.insert(operator_tokens)
        .values(operator_id=operator.id, name=name, token_hash=token_hash, created_at=at)
        .returning(operator_tokens.c.id)
    ).scalar_one()
    return OperatorToken(new_id, operator.name, name, at, None)


# A minute's precision is enough to tell a token in use from a forgotten one.
TOKEN_USE_PRECISION = 60


def operator_by_token(conn: sa.Connection, token_hash: str) -> tuple[Operator, bool] | None:
    """The token's operator, and whether the token's last use is due to be noted (`note_token_use`)."""
    row = conn.execute(
        sa.select(*_OPERATOR_COLUMNS, operator_tokens.c.last_used_at)
        .join(operator_tokens, operator_tokens.c.operator_id == operators.c.id)
        .where(operator_tokens.c.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    due = row.last_used_at is None or now() - row.last_used_at >= TOKEN_USE_PRECISION
    return _operator(row), due


def note_token_use(conn: sa.Connection, token_hash: str) -> None:
    conn.execute(
        sa.update(operator_tokens)
        .where(operator_tokens.c.token_hash == token_hash)
        .values(last_used_at=now())
    )


def list_tokens(conn: sa.Connection) -> list[OperatorToken]:
    query = (
        sa.select(
            operator_tokens.c.id,
            operators.c.name.label("operator"),
            operator_tokens.c.name,
            operator_tokens.c.created_at,
            operator_tokens.c.last_used_at,
        )
        .join(operators, operator_tokens.c.operator_id == operators.c.id)
        .order_by(operator_tokens.c.id)
    )
    return [
        OperatorToken(r.id, r.operator, r.name, r.created_at, r.last_used_at) for r in conn.execute(query)
    ]


def remove_token(conn: sa.Connection, token_id: int) -> None:
    if not conn.execute(sa.delete(operator_tokens).where(operator_tokens.c.id == token_id)).rowcount:
        raise NotFound(f"token {token_id}")
