"""Building and running a simulator by protocol name (what the CLI and the embedded default use)."""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

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
) -> SmscServer[Any]:
    """An SMSC for `protocol`, not listening yet (call `await server.start(host, port)`)."""
    return SmscServer(
        dialect_for(protocol, options),
        DEFAULT_ACCOUNTS if accounts is None else accounts,
        rule,
        record=record,
        seed=seed,
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
    started: Callable[[SmscServer[Any], int | None], None] | None = None,
) -> None:
    """Serve an SMSC until cancelled; for `smsplatform simulator --protocol P --port N`.

    `control_port` opens the JSON-lines control port (see control.py) on the same host.
    Recording is off by default: a long-running simulator would otherwise keep every message.
    `started(server, control_port)` is called once both listen (e.g. to print the ports; port 0
    asks the system for free ones).
    """
    from smsplatform.simulator.control import start_control

    server = create_simulator(protocol, accounts, rule, options=options, record=record, seed=seed)
    await server.start(host, port)
    control: asyncio.Server | None = None
    if control_port is not None:
        control = await start_control(server, host, control_port)
    log.info("%s simulator listening on %s:%d", protocol, host, server.port)
    if started is not None:
        started(server, None if control is None else int(control.sockets[0].getsockname()[1]))
    try:
        await server.serve_forever()
    finally:
        if control is not None:
            control.close()
            await control.wait_closed()
        await server.close()
