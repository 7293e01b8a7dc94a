"""message, stats, callback and reply: what happened to the messages, and the receivers of callbacks."""

from __future__ import annotations

from smsplatform.cli.commands import Registry


def register(registry: Registry) -> None:
    pass
