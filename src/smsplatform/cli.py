"""`smsplatform`: run the platform, and every operator action, on the same database as `serve`.

Each operator command is one short transaction, so it is safe while `serve` runs; the server notices
the change within `config_poll_seconds`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import ipaddress
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from smsplatform.config import ConfigError, Settings, load_settings
from smsplatform.domain.frequency import parse_limits
from smsplatform.domain.numbers import Carrier, normalize_mobile
from smsplatform.domain.templates import TemplateKind
from smsplatform.store import accounts, connectors, customers, routing, templates, words
from smsplatform.store import settings as switches
from smsplatform.store.accounts import AccountStatus
from smsplatform.store.connectors import ConnectorRow
from smsplatform.store.database import Database
from smsplatform.store.errors import InvalidState, NotFound
from smsplatform.store.schema import blackwords
from smsplatform.store.templates import TemplateStatus


class CliError(Exception):
    """A message for the operator; the command exits with status 1."""


Command = Callable[[argparse.Namespace, Settings], Any]


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    # SUPPRESS: given before or after the command, a flag is kept, not reset by the other level's default.
    hidden = argparse.SUPPRESS
    parser.add_argument(
        "--data-dir", type=Path, default=hidden, help="where the SQLite database lives (./data)"
    )
    parser.add_argument(
        "--database-url", default=hidden, help="e.g. postgresql://user@host/db instead of SQLite"
    )
    parser.add_argument("--config", type=Path, default=hidden, help="a TOML file of settings")
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print JSON (an object or a list of objects)")


def _text(limit: int) -> Callable[[str], str]:
    """Text the database keeps in a column of `limit` characters: refused here, not by PostgreSQL."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("must not be empty")
        if len(text) > limit:
            raise argparse.ArgumentTypeError(f"at most {limit} characters")
        return text

    return parse


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address or CIDR block: {text!r}") from None


def _date(text: str) -> int:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    # The key works through the whole day given.
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    return int(end.timestamp()) - 1


def _carrier(text: str) -> str:
    try:
        return Carrier(text.lower()).value
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown carrier {text!r}; one of: {', '.join(c.value for c in Carrier)}"
        ) from None


def _record(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _record(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, tuple | list):
        return [_record(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _record(v) for k, v in obj.items()}
    return obj


def _print(result: Any, as_json: bool) -> None:
    if result is None:
        return
    data = _record(result)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    if not rows:
        print("(none)")
        return
    if not isinstance(rows[0], dict):
        for row in rows:
            print(row)
        return
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items() if v not in ("", None, [], {})))


# --- commands ------------------------------------------------------------------------------------


def _open(settings: Settings) -> Database:
    from smsplatform.app import open_database

    return open_database(settings)


def _write(settings: Settings, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    db = _open(settings)
    try:
        with db.engine.begin() as conn:
            return fn(conn, *args, **kwargs)
    finally:
        db.engine.dispose()
        db.read_engine.dispose()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    from smsplatform.app import serve

    serve(
        settings.with_overrides(
            host=args.host,
            port=args.port,
            role=args.role,
            dispatch_workers=args.dispatch_workers,
            admin_host=args.admin_host,
            admin_port=args.admin_port,
        )
    )


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    _write(settings, lambda conn: None)
    return {"database": "migrated"}


def cmd_customer_create(args: argparse.Namespace, settings: Settings) -> Any:
    customer = _write(
        settings,
        customers.create_customer,
        args.name,
        args.totalnum,
        expires_at=args.expires,
        allow_ips=tuple(args.allow_ip or ()),
        daily_request_limit=args.daily_limit,
    )
    if not args.json:
        print(customer.appkey)
        return None
    return customer


def cmd_customer_list(args: argparse.Namespace, settings: Settings) -> Any:
    listed = _write(settings, customers.list_customers)
    return [{**_record(c), "allocated": allocated} for c, allocated in listed]


def cmd_customer_topup(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, customers.topup, args.id, args.amount)


def cmd_customer_disable(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, customers.set_enabled, args.id, False)


def cmd_customer_enable(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, customers.set_enabled, args.id, True)


def cmd_account_list(args: argparse.Namespace, settings: Settings) -> Any:
    status = AccountStatus.PENDING if args.pending else None
    return _write(settings, accounts.list_accounts, None, status=status)[1]


def cmd_account_approve(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, accounts.review_account, args.id, approve=True)


def cmd_account_reject(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, accounts.review_account, args.id, approve=False, reason=args.reason)


def cmd_account_disable(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, accounts.disable_account, args.id)


def cmd_account_exempt(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, accounts.set_template_exempt, args.id, not args.undo)


def cmd_account_limits(args: argparse.Namespace, settings: Settings) -> Any:
    def update(conn: sa.Connection) -> Any:
        current = dict(accounts.get_account(conn, args.id).freq_limits)
        if args.reset:
            current.pop(args.kind, None)
        else:
            try:
                parse_limits(args.limits)
            except ValueError as exc:
                raise CliError(f"bad limits {args.limits!r}: {exc}") from exc
            current[args.kind] = args.limits
        return accounts.set_frequency_limits(conn, args.id, current)

    if not args.reset and not args.limits:
        raise CliError("give --limits COUNT/SECONDS,... or --reset")
    return _write(settings, update)


def cmd_template_list(args: argparse.Namespace, settings: Settings) -> Any:
    status = TemplateStatus.PENDING if args.pending else None
    return _write(settings, templates.list_templates, None, status=status)[1]


def cmd_template_approve(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, templates.review_template, args.id, approve=True)


def cmd_template_reject(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, templates.review_template, args.id, approve=False, reason=args.reason)


def _words(listed: Sequence[str]) -> list[str]:
    # SQLite would store a longer word, PostgreSQL refuses it: the same answer on both.
    column = blackwords.c.word.type
    limit = column.length if isinstance(column, sa.String) and column.length else 100
    too_long = [w.strip() for w in listed if len(w.strip()) > limit]
    if too_long:
        raise CliError(f"a word has at most {limit} characters: {too_long[0][:20]}…")
    return list(listed)


def cmd_blackword_add(args: argparse.Namespace, settings: Settings) -> Any:
    return {"added": _write(settings, words.add_words, _words(args.words))}


def cmd_blackword_remove(args: argparse.Namespace, settings: Settings) -> Any:
    return {"removed": _write(settings, words.remove_words, args.words)}


def cmd_blackword_list(args: argparse.Namespace, settings: Settings) -> Any:
    return _write(settings, words.list_words)


def cmd_blackword_import(args: argparse.Namespace, settings: Settings) -> Any:
    try:
        lines = args.file.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from exc
    listed = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return {"read": len(listed), "added": _write(settings, words.add_words, _words(listed))}


def cmd_prefix_set(args: argparse.Namespace, settings: Settings) -> Any:
    if not (args.prefix.isascii() and args.prefix.isdigit() and 3 <= len(args.prefix) <= 7):
        raise CliError(f"a prefix is 3 to 7 digits: {args.prefix!r}")
    _write(settings, routing.set_prefix, args.prefix, args.carrier)
    return {"prefix": args.prefix, "carrier": args.carrier}


def cmd_prefix_remove(args: argparse.Namespace, settings: Settings) -> Any:
    return {"removed": _write(settings, routing.remove_prefix, args.prefix)}


def cmd_prefix_list(args: argparse.Namespace, settings: Settings) -> Any:
    return [{"prefix": p, "carrier": c} for p, c in sorted(_write(settings, routing.list_prefixes).items())]


def cmd_pin_set(args: argparse.Namespace, settings: Settings) -> Any:
    mobile = normalize_mobile(args.mobile)
    if mobile is None:
        raise CliError(f"not a mainland mobile number: {args.mobile!r}")
    _write(settings, routing.set_pin, mobile, args.carrier)
    return {"mobile": mobile, "carrier": args.carrier}


def cmd_pin_remove(args: argparse.Namespace, settings: Settings) -> Any:
    mobile = normalize_mobile(args.mobile) or args.mobile
    return {"removed": _write(settings, routing.remove_pin, mobile)}


def cmd_pin_list(args: argparse.Namespace, settings: Settings) -> Any:
    return [{"mobile": m, "carrier": c} for m, c in _write(settings, routing.list_pins).items()]


def cmd_api_maintenance(args: argparse.Namespace, settings: Settings) -> Any:
    _write(settings, switches.set_setting, switches.MAINTENANCE, "1" if args.state == "on" else "0")
    return {"maintenance": args.state}


def _set_endpoint(settings: Settings, endpoint: str, disabled: bool) -> dict[str, Any]:
    def update(conn: sa.Connection) -> list[str]:
        current = {e for e in switches.get_setting(conn, switches.DISABLED_ENDPOINTS).split(",") if e}
        current = current | {endpoint} if disabled else current - {endpoint}
        switches.set_setting(conn, switches.DISABLED_ENDPOINTS, ",".join(sorted(current)))
        return sorted(current)

    return {"disabled_endpoints": _write(settings, update)}


def cmd_api_disable(args: argparse.Namespace, settings: Settings) -> Any:
    return _set_endpoint(settings, args.endpoint, True)


def cmd_api_enable(args: argparse.Namespace, settings: Settings) -> Any:
    return _set_endpoint(settings, args.endpoint, False)


PROTOCOLS = ("smpp", "cmpp", "cmpp2", "sgip", "smgp")


def _carriers(text: str) -> tuple[str, ...]:
    return tuple(_carrier(part.strip()) for part in text.split(",") if part.strip())


def cmd_connector_add(args: argparse.Namespace, settings: Settings) -> Any:
    options = {
        key: str(value)
        for key, value in (
            ("service_id", args.service_id),
            ("node_id", args.node_id),
            ("listen_host", args.listen_host),
            ("listen_port", args.listen_port),
            ("listen_login", args.listen_login),
            ("listen_password", args.listen_password),
            ("bind_mode", args.bind_mode),
            ("corp_id", args.corp_id),
            ("encoding", args.encoding),
        )
        if value is not None
    }
    for pair in args.option or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--option takes KEY=VALUE, not {pair!r}")
        options[key.strip()] = value
    if args.protocol == "sgip" and args.listen_port is None:
        raise CliError(
            "an SGIP connector needs --listen-port (where the SMSC connects back with reports and MO)"
        )
    row = ConnectorRow(
        name=args.name,
        protocol=args.protocol,
        host=args.host,
        port=args.port,
        system_id=args.system_id,
        password=args.password,
        window=args.window,
        tps=args.tps,
        source_number=args.src_number or "",
        carriers=args.carriers or (),
        options=options,
    )

    def add(conn: sa.Connection) -> ConnectorRow:
        added = connectors.add_connector(conn, row)
        routes = connectors.list_routes(conn)
        for carrier in row.carriers:  # serve these carriers: last in their failover order
            connectors.set_route(conn, carrier, [*routes.get(carrier, []), row.name])
        return added

    try:
        added = _write(settings, add)
    except connectors.ConnectorExists as exc:
        raise CliError(f"a connector named {exc} exists already; remove it first") from exc
    return {k: v for k, v in _record(added).items() if k != "password"}


def cmd_connector_list(args: argparse.Namespace, settings: Settings) -> Any:
    def load(conn: sa.Connection) -> list[dict[str, Any]]:
        stats = connectors.connector_stats(conn)
        routes = connectors.list_routes(conn)
        listed = []
        for row in connectors.list_connectors(conn):
            record = {k: v for k, v in _record(row).items() if k != "password"}
            record["routes"] = sorted(c for c, names in routes.items() if row.name in names)
            record.update(stats.pop(row.name, {"state": "not running"}))
            listed.append(record)
        # Links a running serve reported that are not configured here: its built-in simulators.
        listed.extend({"name": name, "builtin": True, **health} for name, health in sorted(stats.items()))
        return listed

    return _write(settings, load)


def cmd_connector_remove(args: argparse.Namespace, settings: Settings) -> Any:
    _write(settings, connectors.remove_connector, args.name)
    return {"removed": args.name}


def cmd_route_set(args: argparse.Namespace, settings: Settings) -> Any:
    from smsplatform.app import BUILTIN_SIMULATORS

    builtin = [f"sim-{protocol}" for protocol, _ in BUILTIN_SIMULATORS] if settings.simulators else []
    _write(settings, connectors.set_route, args.carrier, args.names, builtin=builtin)
    return {"carrier": args.carrier, "connectors": args.names}


def cmd_route_list(args: argparse.Namespace, settings: Settings) -> Any:
    return [
        {"carrier": c, "connectors": n} for c, n in sorted(_write(settings, connectors.list_routes).items())
    ]


def cmd_simulator(args: argparse.Namespace, settings: Settings) -> None:
    import asyncio

    from smsplatform.simulator.rules import LastDigitRule, OutcomeRule, PercentageRule
    from smsplatform.simulator.runner import run_simulator

    accounts = {}
    for pair in args.account or ["smsplatform:password"]:
        system_id, sep, password = pair.partition(":")
        if not sep:
            raise CliError(f"--account takes SYSTEM_ID:PASSWORD, not {pair!r}")
        accounts[system_id] = password
    rule: OutcomeRule
    try:
        if args.outcomes == "last-digit":
            rule = LastDigitRule(delay=args.receipt_delay)
        else:
            weights = {}
            for part in args.outcomes.split(","):
                stat, _, weight = part.partition("=")
                weights[stat.strip().upper()] = float(weight)
            rule = PercentageRule(weights, delay=args.receipt_delay)
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
            )
        )


# --- the parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from smsplatform.api.app import ENDPOINTS

    parser = argparse.ArgumentParser(prog="smsplatform", description="Self-hosted SMS platform.")
    _common(parser, json_flag=False)
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def command(sub: Any, name: str, fn: Command, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, json_flag=fn is not cmd_serve)
        p.set_defaults(func=fn)
        return p

    p = command(groups, "serve", cmd_serve, "run the platform (API, dispatch, callbacks, simulators)")
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
    command(groups, "migrate", cmd_migrate, "create or upgrade the database schema")

    sub = groups.add_parser("customer", help="customers and their appkeys").add_subparsers(required=True)
    p = command(sub, "create", cmd_customer_create, "create a customer; prints its appkey")
    p.add_argument("--name", required=True, type=_text(100))
    p.add_argument("--totalnum", type=_positive_int, required=True, help="purchased quota (messages)")
    p.add_argument("--expires", type=_date, help="last day the appkey works (YYYY-MM-DD)")
    p.add_argument("--allow-ip", type=_cidr, action="append", help="allowed caller IP or CIDR (repeatable)")
    p.add_argument("--daily-limit", type=_positive_int, help="API requests per day (code 104 beyond)")
    command(sub, "list", cmd_customer_list, "list customers")
    p = command(sub, "topup", cmd_customer_topup, "add purchased quota")
    p.add_argument("id", type=int)
    p.add_argument("amount", type=_positive_int)
    p = command(sub, "disable", cmd_customer_disable, "disable an appkey (code 103)")
    p.add_argument("id", type=int)
    p = command(sub, "enable", cmd_customer_enable, "enable an appkey again")
    p.add_argument("id", type=int)

    sub = groups.add_parser("account", help="sub-accounts and their review").add_subparsers(required=True)
    p = command(sub, "list", cmd_account_list, "list sub-accounts")
    p.add_argument("--pending", action="store_true", help="only those waiting for review")
    for name, fn, text in (
        ("approve", cmd_account_approve, "approve a sub-account"),
        ("disable", cmd_account_disable, "disable a sub-account"),
    ):
        command(sub, name, fn, text).add_argument("id", type=int)
    p = command(sub, "reject", cmd_account_reject, "reject a sub-account")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True, type=_text(500))
    p = command(
        sub, "exempt", cmd_account_exempt, "let a sub-account send without templates (istemnocheck 1)"
    )
    p.add_argument("id", type=int)
    p.add_argument("--undo", action="store_true", help="require templates again")
    p = command(sub, "limits", cmd_account_limits, "override frequency limits per number for one kind")
    p.add_argument("id", type=int)
    p.add_argument("--kind", required=True, choices=[k.value for k in TemplateKind])
    p.add_argument("--limits", help='e.g. "4/60,5/3600,8/86400" (count/seconds)')
    p.add_argument("--reset", action="store_true", help="back to the platform defaults")

    sub = groups.add_parser("template", help="template review").add_subparsers(required=True)
    p = command(sub, "list", cmd_template_list, "list templates")
    p.add_argument("--pending", action="store_true", help="only those waiting for review")
    command(sub, "approve", cmd_template_approve, "approve a template").add_argument("id", type=int)
    p = command(sub, "reject", cmd_template_reject, "reject a template")
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True, type=_text(500))

    sub = groups.add_parser("blackword", help="the sensitive-word list").add_subparsers(required=True)
    command(sub, "add", cmd_blackword_add, "add words").add_argument("words", nargs="+")
    command(sub, "remove", cmd_blackword_remove, "remove words").add_argument("words", nargs="+")
    command(sub, "list", cmd_blackword_list, "list the words")
    command(sub, "import", cmd_blackword_import, "add the words of a file, one a line").add_argument(
        "file", type=Path
    )

    sub = groups.add_parser("prefix", help="extra number prefixes → carrier").add_subparsers(required=True)
    p = command(sub, "set", cmd_prefix_set, "map a 3–7 digit prefix to a carrier")
    p.add_argument("prefix")
    p.add_argument("carrier", type=_carrier)
    command(sub, "remove", cmd_prefix_remove, "remove an operator prefix").add_argument("prefix")
    command(sub, "list", cmd_prefix_list, "list the operator's prefixes")

    sub = groups.add_parser("pin", help="numbers that moved carrier (携号转网)").add_subparsers(required=True)
    p = command(sub, "set", cmd_pin_set, "pin a number to a carrier")
    p.add_argument("mobile")
    p.add_argument("carrier", type=_carrier)
    command(sub, "remove", cmd_pin_remove, "unpin a number").add_argument("mobile")
    command(sub, "list", cmd_pin_list, "list pinned numbers")

    sub = groups.add_parser("connector", help="upstream links to SMSCs").add_subparsers(required=True)
    p = command(sub, "add", cmd_connector_add, "configure a link (a running serve picks it up)")
    p.add_argument("name")
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument("--host", required=True)
    p.add_argument("--port", required=True, type=_positive_int)
    p.add_argument(
        "--system-id", required=True, help="login: SMPP system_id, CMPP Source_Addr, SMGP ClientID"
    )
    p.add_argument("--password", required=True, help="password or shared secret")
    p.add_argument("--window", type=_positive_int, default=16, help="unanswered submits per session (16)")
    p.add_argument("--tps", type=_positive_int, help="submits per second cap")
    p.add_argument("--carriers", type=_carriers, help="carriers it serves, e.g. mobile,unicom")
    p.add_argument("--service-id", help="CMPP/SMGP service id")
    p.add_argument("--src-number", help="the SP access number (1069…) extension codes are appended to")
    p.add_argument("--bind-mode", choices=["transceiver", "transmitter_receiver"], help="SMPP sessions")
    p.add_argument("--node-id", type=_positive_int, help="SGIP: our node id")
    p.add_argument("--listen-host", help="SGIP: the address our listener binds (default 127.0.0.1)")
    p.add_argument("--listen-port", type=_positive_int, help="SGIP: where the SMSC connects back")
    p.add_argument("--listen-login", help="SGIP: the login the SMSC's Bind must present")
    p.add_argument("--listen-password", help="SGIP: the password the SMSC's Bind must present")
    p.add_argument("--corp-id", help="SGIP: the SP's corporation id")
    p.add_argument(
        "--encoding", choices=["ucs2", "gbk"], help="CMPP/SGIP/SMGP: non-ASCII text as UCS-2 or GBK"
    )
    p.add_argument(
        "--option",
        action="append",
        metavar="KEY=VALUE",
        help="any other protocol or link option (repeatable)",
    )
    command(sub, "list", cmd_connector_list, "list links with their state, in flight, sent and errors")
    command(sub, "remove", cmd_connector_remove, "remove a link and its routes").add_argument("name")

    sub = groups.add_parser("route", help="carrier → connectors, in failover order").add_subparsers(
        required=True
    )
    p = command(sub, "set", cmd_route_set, "set a carrier's connectors, first preferred")
    p.add_argument("carrier", type=_carrier)
    p.add_argument("names", nargs="+", metavar="NAME")
    command(sub, "list", cmd_route_list, "list routes")

    p = command(groups, "simulator", cmd_simulator, "run a simulated SMSC alone")
    p.add_argument("--protocol", required=True, choices=PROTOCOLS)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--account", action="append", help="SYSTEM_ID:PASSWORD it accepts (repeatable)")
    p.add_argument("--receipt-delay", type=float, default=0.2, help="seconds before a status report")
    p.add_argument(
        "--outcomes",
        default="last-digit",
        help='"last-digit" (0-6 DELIVRD, 7 UNDELIV, 8 EXPIRED, 9 REJECTD) or "DELIVRD=95,UNDELIV=5"',
    )
    p.add_argument("--control-port", type=int, help="port of the control line protocol (MO, faults)")
    p.add_argument("--record", action="store_true", help="keep every message received (for the control port)")

    sub = groups.add_parser("api", help="maintenance mode and endpoint switches").add_subparsers(
        required=True
    )
    command(sub, "maintenance", cmd_api_maintenance, "answer 107 on every endpoint").add_argument(
        "state", choices=["on", "off"]
    )
    command(sub, "disable", cmd_api_disable, "answer 108 on one endpoint").add_argument(
        "endpoint", choices=sorted(ENDPOINTS)
    )
    command(sub, "enable", cmd_api_enable, "serve an endpoint again").add_argument(
        "endpoint", choices=sorted(ENDPOINTS)
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(config_file=getattr(args, "config", None)).with_overrides(
            data_dir=getattr(args, "data_dir", None), database_url=getattr(args, "database_url", None)
        )
        result = args.func(args, settings)
    except (CliError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (NotFound, connectors.ConnectorExists) as exc:
        print(f"error: not found: {exc}", file=sys.stderr)
        return 1
    except InvalidState as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except sa.exc.DBAPIError as exc:  # unreachable, or a value the database refuses
        print(f"error: database: {exc.orig}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a data directory that cannot be created
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print(result, getattr(args, "json", False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
