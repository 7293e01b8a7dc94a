"""blackword, prefix, pin, route, api and settings: the platform's rules and switches."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from smsplatform.admin import platform, routing, words
from smsplatform.cli.arguments import carrier
from smsplatform.cli.commands import CliError, Registry
from smsplatform.cli.output import Shown, cell
from smsplatform.cli.runner import Operations


def blackword_add(args: argparse.Namespace, ops: Operations) -> Any:
    change = ops.write(words.add_words, args.words)
    return Shown({"added": change.changed, "already_listed": change.unchanged})


def blackword_remove(args: argparse.Namespace, ops: Operations) -> Any:
    change = ops.write(words.remove_words, args.words)
    return Shown({"removed": change.changed, "not_listed": change.unchanged})


def blackword_list(args: argparse.Namespace, ops: Operations) -> Any:
    listed = ops.read(words.list_words)
    if args.json:
        return listed
    return [w.word for w in listed] or Shown([])


def blackword_import(args: argparse.Namespace, ops: Operations) -> Any:
    try:
        content = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from exc
    read = words.lines_of(content)
    change = ops.write(words.import_words, content)
    return Shown({"read": len(read), "added": change.changed, "already_listed": change.unchanged})


def prefix_set(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(routing.set_prefix, args.prefix, args.carrier)


def prefix_remove(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(routing.remove_prefix, args.prefix)


def prefix_list(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.read(routing.list_prefixes), ("prefix", "carrier"))


def pin_set(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(routing.set_pin, args.mobile, args.carrier)


def pin_remove(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(routing.remove_pin, args.mobile)


def pin_list(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.read(routing.list_pins), ("mobile", "carrier"))


def _route_rows(routes: list[routing.RouteInfo]) -> list[dict[str, str]]:
    return [
        {
            "carrier": r.carrier,
            "connectors": " → ".join(e.connector for e in r.connectors) or "(none: messages wait)",
            "from": cell("", sorted({e.source for e in r.connectors})),
        }
        for r in routes
    ]


def route_set(args: argparse.Namespace, ops: Operations) -> Any:
    route = ops.write(routing.set_route, args.carrier, args.names, simulators_on=ops.settings.simulators)
    return route if args.json else Shown(_route_rows([route]))


def route_clear(args: argparse.Namespace, ops: Operations) -> Any:
    route = ops.write(routing.set_route, args.carrier, [], simulators_on=ops.settings.simulators)
    return route if args.json else Shown(_route_rows([route]))


def route_list(args: argparse.Namespace, ops: Operations) -> Any:
    routes = ops.read(routing.list_routes, simulators_on=ops.settings.simulators)
    if args.json:
        return routes
    return Shown(
        _route_rows(routes),
        note="\nfrom: route (set by the operator), declared (the connector's --carriers), "
        "built-in default (the simulators)",
    )


def api_maintenance(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(platform.set_maintenance, args.state == "on")


def api_disable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(platform.set_endpoint_enabled, args.endpoint, False)


def api_enable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(platform.set_endpoint_enabled, args.endpoint, True)


def api_status(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.read(platform.platform_state)


def settings_show(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(platform.effective_settings(ops.settings), ("name", "value", "source"))


def register(registry: Registry) -> None:
    sub = registry.group("blackword", "the sensitive-word list")
    registry.command(sub, "add", blackword_add, "add words").add_argument("words", nargs="+")
    registry.command(sub, "remove", blackword_remove, "remove words").add_argument("words", nargs="+")
    registry.command(sub, "list", blackword_list, "list the words")
    p = registry.command(sub, "import", blackword_import, "add the words of a file, one a line (# comments)")
    p.add_argument("file", type=Path)

    sub = registry.group("prefix", "extra number prefixes → carrier")
    p = registry.command(sub, "set", prefix_set, "map a 3–7 digit prefix to a carrier")
    p.add_argument("prefix")
    p.add_argument("carrier", type=carrier)
    registry.command(sub, "remove", prefix_remove, "remove an operator prefix").add_argument("prefix")
    registry.command(sub, "list", prefix_list, "list the operator's prefixes")

    sub = registry.group("pin", "numbers that moved carrier (携号转网)")
    p = registry.command(sub, "set", pin_set, "pin a number to a carrier")
    p.add_argument("mobile")
    p.add_argument("carrier", type=carrier)
    registry.command(sub, "remove", pin_remove, "unpin a number").add_argument("mobile")
    registry.command(sub, "list", pin_list, "list pinned numbers")

    sub = registry.group("route", "carrier → connectors, in failover order")
    p = registry.command(sub, "set", route_set, "set a carrier's connectors, first preferred")
    p.add_argument("carrier", type=carrier)
    p.add_argument("names", nargs="+", metavar="NAME")
    p = registry.command(
        sub, "clear", route_clear, "remove the operator's route: back to declared or built-in"
    )
    p.add_argument("carrier", type=carrier)
    registry.command(sub, "list", route_list, "the effective routes, and where each comes from")

    sub = registry.group("api", "maintenance mode and endpoint switches")
    registry.command(sub, "maintenance", api_maintenance, "answer 107 on every endpoint").add_argument(
        "state", choices=["on", "off"]
    )
    registry.command(sub, "disable", api_disable, "answer 108 on one endpoint").add_argument(
        "endpoint", choices=platform.API_ENDPOINTS
    )
    registry.command(sub, "enable", api_enable, "serve an endpoint again").add_argument(
        "endpoint", choices=platform.API_ENDPOINTS
    )
    registry.command(sub, "status", api_status, "maintenance and the endpoints turned off")

    registry.command(
        registry.groups,
        "settings",
        settings_show,
        "the effective settings (as this command reads them), secrets masked",
    )
