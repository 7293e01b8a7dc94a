"""Building and running a simulator by protocol name (what the CLI and the embedded default use)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from smsplatform.protocols.admission import ListenerLimits
from smsplatform.protocols.limits import LINK_FIELDS
from smsplatform.simulator.dialect import SmscDialect
from smsplatform.simulator.rules import OutcomeRule
from smsplatform.simulator.server import SmscServer

log = logging.getLogger(__name__)

DialectFactory = Callable[[Mapping[str, str]], SmscDialect[Any]]

# SMPP allows passwords of at most 8 characters; other protocols have their own limits.
DEFAULT_ACCOUNTS: Mapping[str, str] = {"smsplatform": "password"}

_DIALECTS: dict[str, DialectFactory] = {}
_MODULE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def register_dialect(protocol: str, factory: DialectFactory) -> None:
    """Make `protocol` available by name (dialect modules call this on import).

    The factory gets the dialect options, e.g. {"id_format": "dec"} or a protocol version.
    """
    _DIALECTS[protocol.lower()] = factory


def dialect_for(protocol: str, options: Mapping[str, str] | None = None) -> SmscDialect[Any]:
    """The dialect for `protocol`; an unknown name is imported as `smsplatform.simulator.<protocol>`.

    A name ending in a version digit ("cmpp2") is also looked for in the module without it.
    """
    name = protocol.lower()
    for candidate in dict.fromkeys((name, name.rstrip("0123456789"))):
        if name in _DIALECTS or not _MODULE_NAME.fullmatch(candidate):
            break
        module = f"smsplatform.simulator.{candidate}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
    factory = _DIALECTS.get(name)
    if factory is None:
        raise ValueError(f"no simulator for protocol {protocol!r}")
    return factory(options or {})


def create_simulator(
    protocol: str,
    accounts: Mapping[str, str] | None = None,
    rule: OutcomeRule | None = None,
    *,
    options: Mapping[str, str] | None = None,
    record: bool = True,
    seed: int | None = None,
    first_id: int = 1,
    reports_first: bool = False,
    limits: ListenerLimits | None = None,
) -> SmscServer[Any]:
    """An SMSC for `protocol`, not listening yet (call `await server.start(host, port)`).

    `first_id` and `reports_first`: see SmscServer (ids counted from a set number; receipts sent
    ahead of their submit responses). `limits`: its listener's login timeout, connection cap per
    source address and failed-login delay (default `ListenerLimits()`)."""
    return SmscServer(
        dialect_for(protocol, options),
        DEFAULT_ACCOUNTS if accounts is None else accounts,
        rule,
        record=record,
        seed=seed,
        first_id=first_id,
        reports_first=reports_first,
        limits=limits,
    )


async def run_simulator(
    protocol: str,
    host: str = "127.0.0.1",
    port: int = 0,
    accounts: Mapping[str, str] | None = None,
    rule: OutcomeRule | None = None,
    *,
    options: Mapping[str, str] | None = None,
    control_port: int | None = None,
    record: bool = False,
    seed: int | None = None,
    first_id: int = 1,
    reports_first: bool = False,
    limits: ListenerLimits | None = None,
    started: Callable[[SmscServer[Any], int | None], None] | None = None,
    announce: Callable[[str], None] | None = print,
) -> None:
    """Serve an SMSC until cancelled; for `smsplatform simulator --protocol P --port N`.

    `control_port` opens the JSON-lines control port (see control.py) on the same host.
    Recording is off by default: a long-running simulator would otherwise keep every message.
    `started(server, control_port)` is called once both listen (port 0 asks the system for free
    ones). `announce` gets the lines that tell whoever started it where to point a connector and
    with which credentials (printed by default; None for silence). `limits`: see create_simulator.
    """
    from smsplatform.simulator.control import start_control

    server = create_simulator(
        protocol,
        accounts,
        rule,
        options=options,
        record=record,
        seed=seed,
        first_id=first_id,
        reports_first=reports_first,
        limits=limits,
    )
    await server.start(host, port)
    control: asyncio.Server | None = None
    if control_port is not None:
        control = await start_control(server, host, control_port)
    log.info("%s simulator listening on %s:%d", protocol, host, server.port)
    bound_control = None if control is None else int(control.sockets[0].getsockname()[1])
    if announce is not None:
        for line in describe_simulator(protocol, host, server, bound_control):
            announce(line)
    if started is not None:
        started(server, bound_control)
    try:
        await server.serve_forever()
    finally:
        if control is not None:
            control.close()
            await control.wait_closed()
        await server.close()


def describe_simulator(
    protocol: str, host: str, server: SmscServer[Any], control_port: int | None
) -> list[str]:
    """What an operator needs to point a connector at a standalone simulator, as lines of text."""
    lines = [f"{protocol} simulator listening on {host}:{server.port}"]
    fields = LINK_FIELDS.get(protocol.lower())
    login = fields.login.field if fields is not None else "system id"
    secret = "shared secret" if fields is None or fields.password is None else fields.password.field
    for system_id, password in server.accounts.items():
        line = f"  accepts {login} {system_id!r} with {secret} {password!r}"
        if fields is not None and len(system_id) > fields.login.octets:
            line += f" (too long: {login} holds {fields.login.octets} characters, no client can send it)"
        lines.append(line)
    if not server.accounts:
        lines.append("  accepts no account: every bind is refused")
    callback = server.dialect.callback
    if callback is not None:
        lines.append(f"  delivers reports and replies by connecting to {callback.host}:{callback.port}")
    elif protocol.lower() == "sgip":
        lines.append("  delivers no reports or replies: SGIP connects back, and no callback address is set")
    if control_port is not None:
        lines.append(f'  control port {host}:{control_port} (JSON lines, e.g. {{"cmd": "counters"}})')
    return lines
