"""The command groups; each module registers its commands on the parser (`register`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from smsplatform.cli.arguments import common
from smsplatform.cli.runner import Operations

# A command: the parsed line and the operations to run, returning what to print (or None).
Command = Callable[[argparse.Namespace, Operations], Any]


class CliError(Exception):
    """A message for the operator; the command exits with status 1."""


class Registry:
    """Adds groups and commands, each accepting the common flags wherever they appear."""

    def __init__(self, groups: Any) -> None:
        self.groups = groups

    def group(self, name: str, help_text: str, *, under: Any = None) -> Any:
        """A group of commands, at the top or `under` another group (e.g. `operator token`)."""
        parent = self.groups if under is None else under
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        common(parser)
        return parser.add_subparsers(required=True, metavar="COMMAND")

    def command(self, sub: Any, name: str, fn: Command, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        common(parser)
        parser.set_defaults(func=fn)
        return parser
