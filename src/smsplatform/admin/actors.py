"""Who acts: an operator with a role, through one of the three faces."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # everything
    REVIEWER = "reviewer"  # looks at everything, reviews sub-accounts and templates, changes nothing else


class Permission(StrEnum):
    VIEW = "view"
    REVIEW = "review"
    MANAGE = "manage"


_GRANTED = {
    Role.ADMIN: frozenset(Permission),
    Role.REVIEWER: frozenset({Permission.VIEW, Permission.REVIEW}),
}


class Via(StrEnum):
    CONSOLE = "console"
    API = "api"
    CLI = "cli"


class Forbidden(Exception):
    """The actor's role does not allow the action."""


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: Role
    via: Via

    def can(self, permission: Permission) -> bool:
        return permission in _GRANTED[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise Forbidden(f"{self.name} ({self.role}) may not {permission.value}")


def cli_actor(user: str) -> Actor:
    """Whoever can run the CLI on the database's machine can do everything: the audit log names them."""
    return Actor(name=user, role=Role.ADMIN, via=Via.CLI)
