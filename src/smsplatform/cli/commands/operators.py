"""operator and audit: who may use the console and the management API, and what everyone changed."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from smsplatform.admin import audit, auth
from smsplatform.admin.actors import Role
from smsplatform.cli.arguments import positive_int, since, text, until
from smsplatform.cli.commands import CliError, Registry
from smsplatform.cli.output import Shown, cell
from smsplatform.cli.runner import Operations
from smsplatform.store.audit import AuditEntry


def read_password(args: argparse.Namespace) -> str:
    """From stdin's first line with --password-stdin, else asked twice on the terminal."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: give it on stdin with --password-stdin")
    first = getpass.getpass("password: ")
    if getpass.getpass("password again: ") != first:
        raise CliError("the two passwords differ")
    return first


def operator_create(args: argparse.Namespace, ops: Operations) -> Any:
    password = read_password(args)
    return ops.write(auth.create_operator, args.name, Role(args.role), password)


def operator_list(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.read(auth.list_operators), ("id", "name", "role", "enabled", "created_at"))


def operator_password(args: argparse.Namespace, ops: Operations) -> Any:
    password = read_password(args)
    ops.write(auth.set_password, args.name, password)
    return Shown(None, note=f"password of {args.name} changed")


def operator_role(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(auth.set_operator, args.name, role=Role(args.role))


def operator_disable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(auth.set_operator, args.name, enabled=False)


def operator_enable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(auth.set_operator, args.name, enabled=True)


def token_create(args: argparse.Namespace, ops: Operations) -> Any:
    created, token = ops.write(auth.create_token, args.name, args.label or "")
    if args.json:
        return {"token": token, **{k: getattr(created, k) for k in ("id", "operator", "name", "created_at")}}
    # The token alone on stdout (scripts read it); it is shown this once and kept only as a hash.
    return token


def token_list(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.read(auth.list_tokens), ("id", "operator", "name", "created_at", "last_used_at"))


def token_revoke(args: argparse.Namespace, ops: Operations) -> Any:
    ops.write(auth.revoke_token, args.id)
    return Shown(None, note=f"token {args.id} revoked")


def _loaded(text_: str) -> Any:
    try:
        return json.loads(text_) if text_ else None
    except ValueError:
        return text_


def change_text(entry: AuditEntry) -> str:
    """What changed, `field: before → after`, or what was created or removed."""
    before, after = _loaded(entry.before), _loaded(entry.after)
    if isinstance(before, dict) and isinstance(after, dict):
        changed = [k for k in {**before, **after} if before.get(k) != after.get(k)]
        return "; ".join(f"{k}: {cell(k, before.get(k))} → {cell(k, after.get(k))}" for k in changed)
    if after is not None:
        return cell("", after)
    if before is not None:
        return "was " + cell("", before)
    return ""


def audit_list(args: argparse.Namespace, ops: Operations) -> Any:
    entries = ops.read(
        audit.list_audit,
        limit=args.limit,
        operator=args.operator,
        action=args.action,
        since=args.since,
        until=args.until,
    )
    if args.json:
        return [{**vars_of(e), "before": _loaded(e.before), "after": _loaded(e.after)} for e in entries]
    rows = [
        {
            "id": e.id,
            "at": e.at,
            "operator": e.operator,
            "via": e.via,
            "action": e.action,
            "target": e.target,
            "change": change_text(e),
        }
        for e in entries
    ]
    return Shown(rows)


def vars_of(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in AuditEntry.__dataclass_fields__}


def register(registry: Registry) -> None:
    roles = [r.value for r in Role]
    sub = registry.group("operator", "operators of the console and the management API")
    p = registry.command(sub, "create", operator_create, "create an operator (asks for the password)")
    p.add_argument("name", type=text(auth.MAX_NAME))
    p.add_argument(
        "--role", required=True, choices=roles, help="admin: everything; reviewer: look and review"
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    registry.command(sub, "list", operator_list, "list operators")
    p = registry.command(sub, "password", operator_password, "set an operator's password")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    p = registry.command(sub, "role", operator_role, "change an operator's role")
    p.add_argument("name")
    p.add_argument("role", choices=roles)
    registry.command(
        sub, "disable", operator_disable, "stop an operator logging in or using tokens"
    ).add_argument("name")
    registry.command(sub, "enable", operator_enable, "let a disabled operator in again").add_argument("name")

    tsub = registry.group("token", "management-API tokens", under=sub)
    p = registry.command(tsub, "create", token_create, "a new token for an operator; prints it (once)")
    p.add_argument("name", help="the operator")
    p.add_argument("--label", type=text(auth.MAX_TOKEN_NAME), help="what it is for, e.g. grafana")
    registry.command(tsub, "list", token_list, "list tokens (never the tokens themselves)")
    registry.command(tsub, "revoke", token_revoke, "revoke a token").add_argument("id", type=int)

    sub = registry.group("audit", "the audit log: every change an operator made")
    p = registry.command(sub, "list", audit_list, "newest first")
    p.add_argument("--operator", metavar="NAME")
    p.add_argument("--action", metavar="A", help='e.g. "template" or "template.approve"')
    p.add_argument("--since", type=since, metavar="DATE|DATETIME")
    p.add_argument("--until", type=until, metavar="DATE|DATETIME")
    p.add_argument("--limit", type=positive_int, default=50)
