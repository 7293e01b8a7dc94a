"""serve, migrate and simulator: running the platform, its schema, and a simulated SMSC alone."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from smsplatform.cli.commands import CliError, Registry
from smsplatform.cli.runner import Operations
from smsplatform.store.database import newest_revision

PROTOCOLS = ("smpp", "cmpp", "cmpp2", "sgip", "smgp")


def serve(args: argparse.Namespace, ops: Operations) -> None:
    """Runs until SIGTERM or Ctrl-C, then exits 0; an address it cannot listen on is one line, status 1."""
    from smsplatform.app import ListenError
    from smsplatform.app import serve as run
    from smsplatform.datastore import warn_of_server_settings
    from smsplatform.logs import configure_logging

    settings = ops.settings.with_overrides(
        host=args.host,
        port=args.port,
        role=args.role,
        dispatch_workers=args.dispatch_workers,
        admin_host=args.admin_host,
        admin_port=args.admin_port,
        redis_url=args.redis_url,
        node_name=args.node_name,
        migrate=False if args.no_migrate else None,
        health_host=args.health_host,
        health_port=args.health_port,
        retention_days=args.retention_days,
        callback_concurrency=args.callback_concurrency,
    )
    configure_logging(settings)
    warn_of_server_settings(settings)
    try:
        run(settings)
    except ListenError as exc:
        raise CliError(str(exc)) from None


def migrate(args: argparse.Namespace, ops: Operations) -> Any:
    """Migrates even where the settings say not to (SMSPLATFORM_MIGRATE=false in the nodes' shared
    environment): this is the one run they leave it to. Runs started together take turns."""
    ops.settings = ops.settings.with_overrides(migrate=True)
    ops.open()  # opening migrates
    return {"database": "migrated", "revision": newest_revision()}


def simulator(args: argparse.Namespace, ops: Operations) -> None:
    from smsplatform.simulator.rules import OutcomeRule, parse_outcomes
    from smsplatform.simulator.runner import run_simulator

    accounts = {}
    # The built-in simulators' login by default: short enough for every protocol (CMPP's is 6 characters).
    for pair in args.account or ["901234:password"]:
        system_id, sep, password = pair.partition(":")
        if not sep:
            raise CliError(f"--account takes SYSTEM_ID:PASSWORD, not {pair!r}")
        accounts[system_id] = password
    rule: OutcomeRule
    try:
        rule = parse_outcomes(args.outcomes, args.receipt_delay)
    except ValueError as exc:
        raise CliError(f"bad --outcomes {args.outcomes!r}: {exc}") from exc
    options = {"version": "2.0"} if args.protocol == "cmpp2" else {}
    protocol = "cmpp" if args.protocol == "cmpp2" else args.protocol

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_simulator(
                protocol,
                args.host,
                args.port,
                accounts,
                rule,
                options=options,
                control_port=args.control_port,
                record=args.record,
                first_id=args.first_id,
                reports_first=args.reports_first,
                limits=ops.settings.listener_limits,
            )
        )


def register(registry: Registry) -> None:
    groups = registry.groups
    p = registry.command(
        groups, "serve", serve, "run the platform (API, dispatch, callbacks, simulators, console)"
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080)")
    p.add_argument("--role", help="all (default), or some of api,dispatch,callbacks,admin")
    p.add_argument("--admin-host", help="address of the console, management API and /metrics (127.0.0.1)")
    p.add_argument("--admin-port", type=int, help="their port (default 8081)")
    p.add_argument(
        "--dispatch-workers",
        type=int,
        help="processes running the dispatch role (default: one per core, up to 4); 0: in this process",
    )
    p.add_argument("--redis-url", help="scaled out: the Redis every node shares (redis://host:6379/0)")
    p.add_argument("--node-name", help="this node's name in leases and figures (default: the host name)")
    p.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate the database at start (scaled out: `smsplatform migrate` runs once)",
    )
    p.add_argument("--health-host", help="address of /healthz and /readyz on a node without the API")
    p.add_argument("--health-port", type=int, help="their port (default: off)")
    p.add_argument(
        "--retention-days",
        type=int,
        help="days messages and their reports are kept (default 90; 0: for ever)",
    )
    p.add_argument(
        "--callback-concurrency",
        type=int,
        help="callback requests in flight at once to one sub-account's receiver (default 4)",
    )
    registry.command(groups, "migrate", migrate, "create or upgrade the database schema")

    p = registry.command(groups, "simulator", simulator, "run a simulated SMSC alone")
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", required=True, type=int, help="0: any free port (printed)")
    p.add_argument(
        "--account",
        action="append",
        help="SYSTEM_ID:PASSWORD it accepts (repeatable; default 901234:password)",
    )
    p.add_argument("--receipt-delay", type=float, default=0.2, help="seconds before a status report")
    p.add_argument(
        "--outcomes",
        default="last-digit",
        help='"last-digit" (0-6 DELIVRD, 7 UNDELIV, 8 EXPIRED, 9 REJECTD), with changed digits'
        ' ("last-digit:0-4=EXPIRED,5-9=REJECTD"), or "DELIVRD=95,UNDELIV=5"',
    )
    p.add_argument(
        "--first-id",
        type=int,
        default=1,
        help="number of the first message id (SMPP): simulators with one first id issue the same ids",
    )
    p.add_argument(
        "--reports-first",
        action="store_true",
        help="send each status report at once, and the submit's response only once it was answered",
    )
    p.add_argument("--control-port", type=int, help="port of the control line protocol (MO, faults)")
    p.add_argument("--record", action="store_true", help="keep every message received (for the control port)")
