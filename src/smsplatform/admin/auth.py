"""Operators' passwords (argon2id) and management-API tokens (random, kept as SHA-256)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from smsplatform.admin import audit
from smsplatform.admin.actors import Actor, Permission, Role
from smsplatform.store import operators, schema
from smsplatform.store.operators import Operator, OperatorToken
from smsplatform.store.widths import width

MIN_PASSWORD_LENGTH = 10
MAX_NAME = width(schema.operators.c.name, schema.audit_log.c.operator)  # the audit keeps it too
MAX_TOKEN_NAME = width(schema.operator_tokens.c.name)
TOKEN_PREFIX = "smsop_"

_hasher = PasswordHasher()
# Verified against for unknown names, so that a login takes as long whether the name exists or not.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class WeakPassword(ValueError):
    pass


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable() or " " in name:
        raise ValueError(f"an operator name is 1 to {MAX_NAME} printable characters without spaces")
    return name


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def create_operator(conn: sa.Connection, actor: Actor, name: str, role: Role, password: str) -> Operator:
    actor.require(Permission.MANAGE)
    created = operators.create_operator(conn, _checked_name(name), Role(role).value, hash_password(password))
    audit.record(conn, actor, "operator.create", f"operator {created.name}", after={"role": created.role})
    return created


def set_password(conn: sa.Connection, actor: Actor, name: str, password: str) -> None:
    actor.require(Permission.MANAGE)
    operators.set_password_hash(conn, name, hash_password(password))
    audit.record(conn, actor, "operator.password", f"operator {name}")


def set_operator(
    conn: sa.Connection, actor: Actor, name: str, *, role: Role | None = None, enabled: bool | None = None
) -> Operator:
    actor.require(Permission.MANAGE)
    before = operators.get_operator(conn, name)
    after = operators.set_operator(
        conn, name, role=None if role is None else Role(role).value, enabled=enabled
    )
    audit.record(
        conn,
        actor,
        "operator.update",
        f"operator {name}",
        before={"role": before.role, "enabled": before.enabled},
        after={"role": after.role, "enabled": after.enabled},
    )
    return after


def list_operators(conn: sa.Connection, actor: Actor) -> list[Operator]:
    actor.require(Permission.VIEW)
    return operators.list_operators(conn)


def authenticate(conn: sa.Connection, name: str, password: str) -> Operator | None:
    """The operator whose name and password these are, if enabled; None otherwise."""
    found = operators.password_hash_of(conn, name)
    stored = found[1] if found is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if found is None or not found[0].enabled:
        return None
    if _hasher.check_needs_rehash(stored):
        operators.set_password_hash(conn, name, _hasher.hash(password))
    return found[0]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    conn: sa.Connection, actor: Actor, operator_name: str, name: str = ""
) -> tuple[OperatorToken, str]:
    """A new token for `operator_name`; the token itself is returned once and never kept."""
    actor.require(Permission.MANAGE)
    if len(name) > MAX_TOKEN_NAME or not name.isprintable():
        raise ValueError(f"a token's label is at most {MAX_TOKEN_NAME} printable characters")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = operators.add_token(conn, operator_name, name, _token_hash(token))
    audit.record(
        conn, actor, "token.create", f"operator {operator_name}", after={"token_id": created.id, "name": name}
    )
    return created, token


def list_tokens(conn: sa.Connection, actor: Actor) -> list[OperatorToken]:
    actor.require(Permission.VIEW)
    return operators.list_tokens(conn)


def revoke_token(conn: sa.Connection, actor: Actor, token_id: int) -> None:
    actor.require(Permission.MANAGE)
    operators.remove_token(conn, token_id)
    audit.record(conn, actor, "token.revoke", f"token {token_id}")


def token_operator(conn: sa.Connection, token: str) -> tuple[Operator, bool] | None:
    """The enabled operator a token belongs to, and whether its use is due to be noted
    (`note_token_use`): a read, so that checking a token costs no write on most calls."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    found = operators.operator_by_token(conn, _token_hash(token))
    return found if found is not None and found[0].enabled else None


def note_token_use(conn: sa.Connection, token: str) -> None:
    operators.note_token_use(conn, _token_hash(token))


def operator_for_token(conn: sa.Connection, token: str) -> Operator | None:
    """The enabled operator a token belongs to, noting the token's use (in one unit of work)."""
    found = token_operator(conn, token)
    if found is None:
        return None
    operator, due = found
    if due:
        note_token_use(conn, token)
    return operator


def session_operator(conn: sa.Connection, name: str) -> Operator | None:
    """The operator a console session names, looked up on each request: a disabled operator's session
    ends at once, and a changed role applies to the next page."""
    found = operators.password_hash_of(conn, name)
    return found[0] if found is not None and found[0].enabled else None
