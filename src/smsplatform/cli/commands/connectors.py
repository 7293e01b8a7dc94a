"""connector: links to SMSCs, their health, and stopping and starting them."""

from __future__ import annotations

import argparse
from typing import Any

from smsplatform.admin import connectors
from smsplatform.admin.connectors import ConnectorHealth, ConnectorInfo
from smsplatform.cli.arguments import carriers, positive_int
from smsplatform.cli.commands import CliError, Registry
from smsplatform.cli.output import Shown, cell, plain
from smsplatform.cli.runner import Operations
from smsplatform.domain.connectors import PROTOCOLS

# Flags that are protocol options, by option key.
OPTION_FLAGS = (
    "service_id",
    "node_id",
    "listen_host",
    "listen_port",
    "listen_login",
    "listen_password",
    "bind_mode",
    "corp_id",
    "encoding",
    "max_binds",
)


def _options(args: argparse.Namespace) -> dict[str, str]:
    options = {key: str(getattr(args, key)) for key in OPTION_FLAGS if getattr(args, key) is not None}
    if options.get("max_binds") == "0":  # edit --max-binds 0: no cap
        options["max_binds"] = ""
    for pair in args.option or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--option takes KEY=VALUE, not {pair!r}")
        options[key.strip()] = value
    return options


def _load(health: ConnectorHealth) -> str:
    return f"{health.in_flight}/{health.window}" if health.window else str(health.in_flight)


def _figures(health: ConnectorHealth) -> dict[str, Any]:
    """A link's figures as both tables show them: the connectors and one connector's processes."""
    return {
        "since": health.since,
        "binds": health.binds,
        "in_flight": _load(health),
        "rate": f"{cell('', health.submit_rate)}/s",
        "sent": health.sent,
        "errors": health.errors,
    }


def _row(info: ConnectorInfo) -> dict[str, Any]:
    health = info.health
    state = (
        "stopped by operator" if info.stopped and health.state in ("not running", "stopped") else health.state
    )
    return {
        "name": info.name + (" (built-in)" if info.builtin else ""),
        "protocol": info.protocol,
        "state": state,
        **_figures(health),
        "carriers": ", ".join(info.routes) or "-",
        "last_error": f"{health.last_error} ({cell('at', health.last_error_at)})"
        if health.last_error
        else "",
    }


def _detail(info: ConnectorInfo) -> Shown:
    record = {k: v for k, v in plain(info).items() if k not in ("health", "processes")}
    return Shown(
        None,
        sections={
            "connector": Shown(record),
            "health": Shown(info.health, title="health (all processes):"),
            "processes": Shown(
                [{"process": p.process, **_row_health(p.health)} for p in info.processes],
                title="per process:",
            ),
        },
    )


def _row_health(health: ConnectorHealth) -> dict[str, Any]:
    return {
        "state": health.state,
        **_figures(health),
        "last_error": health.last_error,
        "updated_at": health.updated_at,
    }


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """A connector's settings as `add` and `edit` take them from the command line (None: not given)."""
    return {
        "protocol": args.protocol,
        "host": args.host,
        "port": args.port,
        "system_id": args.system_id,
        "password": args.password,
        "window": args.window,
        "tps": args.tps,
        "options": _options(args),
    }


def connector_add(args: argparse.Namespace, ops: Operations) -> Any:
    added = ops.write(
        connectors.add_connector,
        args.name,
        **_settings(args),
        source_number=args.src_number or "",
        carriers=args.carriers or (),
        simulators_on=ops.settings.simulators,
    )
    return added if args.json else _detail(added)


def connector_edit(args: argparse.Namespace, ops: Operations) -> Any:
    edited = ops.write(
        connectors.edit_connector,
        args.name,
        **_settings(args),
        source_number=args.src_number,
        carriers=args.carriers,
        simulators_on=ops.settings.simulators,
    )
    return edited if args.json else _detail(edited)


def connector_remove(args: argparse.Namespace, ops: Operations) -> Any:
    ops.write(connectors.remove_connector, args.name)
    return {"removed": args.name}


def connector_list(args: argparse.Namespace, ops: Operations) -> Any:
    listed = ops.read(connectors.list_connectors, simulators_on=ops.settings.simulators)
    if args.json:
        return listed
    return Shown(
        [_row(info) for info in listed],
        note="\nstate and counters as the running processes last reported them (summed over the "
        "dispatch processes of every node that reported in the last 15 s); per process: "
        "smsplatform connector show NAME",
    )


def connector_show(args: argparse.Namespace, ops: Operations) -> Any:
    found = ops.read(connectors.get_connector, args.name, simulators_on=ops.settings.simulators)
    return found if args.json else _detail(found)


def connector_stop(args: argparse.Namespace, ops: Operations) -> Any:
    found = ops.write(connectors.set_stopped, args.name, True, simulators_on=ops.settings.simulators)
    return found if args.json else Shown([_row(found)], note="\nits links unbind; its carriers fail over")


def connector_start(args: argparse.Namespace, ops: Operations) -> Any:
    found = ops.write(connectors.set_stopped, args.name, False, simulators_on=ops.settings.simulators)
    return found if args.json else Shown([_row(found)], note="\nits links bind again within seconds")


def _not_negative(value: str) -> int:
    return 0 if value.strip() == "0" else positive_int(value)


def _settings_flags(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("--protocol", required=required, choices=PROTOCOLS)
    p.add_argument("--host", required=required)
    p.add_argument("--port", required=required, type=positive_int)
    p.add_argument(
        "--system-id", required=required, help="login: SMPP system_id, CMPP Source_Addr, SMGP ClientID"
    )
    p.add_argument("--password", required=required, help="password or shared secret")
    if required:
        p.add_argument("--window", type=positive_int, default=16, help="unanswered submits per session (16)")
        p.add_argument("--tps", type=positive_int, help="submits per second cap, for the whole platform")
        p.add_argument(
            "--max-binds",
            type=positive_int,
            help="links bound at once across every node (needs redis_url); default: one per dispatch process",
        )
    else:
        p.add_argument("--window", type=positive_int, help="unanswered submits per session")
        p.add_argument("--tps", type=_not_negative, help="submits per second cap; 0: none")
        p.add_argument(
            "--max-binds", type=_not_negative, help="links bound at once across every node; 0: no cap"
        )
    p.add_argument("--carriers", type=carriers, help="carriers it serves, e.g. mobile,unicom")
    p.add_argument("--service-id", help="CMPP/SMGP service id")
    p.add_argument("--src-number", help="the SP access number (1069…) extension codes are appended to")
    p.add_argument("--bind-mode", choices=["transceiver", "transmitter_receiver"], help="SMPP sessions")
    p.add_argument("--node-id", type=positive_int, help="SGIP: our node id")
    p.add_argument("--listen-host", help="SGIP: the address our listener binds (default 127.0.0.1)")
    p.add_argument("--listen-port", type=positive_int, help="SGIP: where the SMSC connects back")
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
        help="any other protocol or link option (repeatable)" + ("" if required else "; KEY= removes one"),
    )


def register(registry: Registry) -> None:
    sub = registry.group("connector", "upstream links to SMSCs")
    p = registry.command(sub, "add", connector_add, "configure a link (a running serve picks it up)")
    p.add_argument("name")
    _settings_flags(p, required=True)
    p = registry.command(sub, "edit", connector_edit, "change a link's settings (its links are replaced)")
    p.add_argument("name")
    _settings_flags(p, required=False)
    registry.command(
        sub, "list", connector_list, "links with their state, since, last error, binds, window, rate"
    )
    registry.command(
        sub, "show", connector_show, "one link, its settings and its health per process"
    ).add_argument("name")
    registry.command(
        sub, "stop", connector_stop, "unbind a link and keep it down (its carriers fail over)"
    ).add_argument("name")
    registry.command(sub, "start", connector_start, "let a stopped link bind again").add_argument("name")
    registry.command(sub, "remove", connector_remove, "remove a link and its routes").add_argument("name")
