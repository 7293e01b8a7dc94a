"""`smsplatform`: run the platform, and every operator action, on the same database as `serve`.

Each operator command calls the operations of `smsplatform.admin` (the console and the management API
call the same ones) in one short transaction, as the user running it (the audit log names them), so it
is safe while `serve` runs; the server notices the change within `config_poll_seconds`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

import sqlalchemy as sa

from smsplatform.admin.actors import Forbidden
from smsplatform.cli.arguments import common
from smsplatform.cli.commands import CliError, Registry
from smsplatform.cli.output import emit
from smsplatform.cli.runner import Operations
from smsplatform.config import ConfigError, load_settings
from smsplatform.store.errors import NotFound, StoreError

__all__ = ["CliError", "build_parser", "main"]

# The exit status of a process killed by SIGPIPE, as shells report a pipeline's reader closing early.
CLOSED_PIPE = 128 + signal.SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    from smsplatform.cli.commands import connectors, customers, observe, operators, platform, serving

    parser = argparse.ArgumentParser(prog="smsplatform", description="Self-hosted SMS platform.")
    common(parser)
    registry = Registry(parser.add_subparsers(dest="group", required=True, metavar="COMMAND"))
    for module in (serving, customers, platform, connectors, observe, operators):
        module.register(registry)
    return parser


def _refusal(exc: BaseException) -> str | None:
    """The line an operator reads for a refused command; None for what is not a refusal."""
    if isinstance(exc, NotFound):
        return f"not found: {exc}"
    doc = type(exc).__doc__
    if isinstance(exc, StoreError) and " " not in str(exc) and doc:
        # Raised with the name alone (a signature, an operator): the rule that refused it says why.
        rule = doc.strip().splitlines()[0].rstrip(".")
        return f"{rule[:1].lower()}{rule[1:]}: {exc}"
    if isinstance(exc, Forbidden | StoreError | CliError | ConfigError | ValueError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, sa.exc.DBAPIError):  # unreachable, or a value the database refuses
        return f"database: {exc.orig}"
    if isinstance(exc, OSError):  # e.g. a data directory that cannot be made
        return str(exc)
    return None


def _quiet_stdout() -> None:
    """After the reader of our output went away: nothing more reaches it, not even at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (captured)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.json = getattr(args, "json", False)
    ops: Operations | None = None
    try:
        settings = load_settings(config_file=getattr(args, "config", None)).with_overrides(
            data_dir=getattr(args, "data_dir", None), database_url=getattr(args, "database_url", None)
        )
        ops = Operations(settings)
        result = args.func(args, ops)
        emit(result, args.json)
    except BrokenPipeError:
        _quiet_stdout()
        return CLOSED_PIPE
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Exception as exc:
        message = _refusal(exc)
        if message is None:
            message = f"unexpected {type(exc).__name__}: {exc}"
        print(f"error: {message}", file=sys.stderr)
        return 1
    finally:
        if ops is not None:
            ops.close()
    return 0
