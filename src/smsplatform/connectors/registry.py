"""Which adapter speaks which protocol, and the factory dispatch uses to build connectors."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from smsplatform.connectors.adapter import ProtocolAdapter
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.protocols.admission import ListenerLimits

AdapterFactory = Callable[[ConnectorConfig], ProtocolAdapter[Any]]

_ADAPTERS: dict[str, AdapterFactory] = {}
_MODULE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def register_adapter(protocol: str, factory: AdapterFactory) -> None:
    """Make `protocol` available to create_connector (adapter modules call this on import)."""
    _ADAPTERS[protocol.lower()] = factory


def adapter_for(config: ConnectorConfig) -> ProtocolAdapter[Any]:
    """Build the adapter for config.protocol.

    An unknown name is looked up as the module `smsplatform.connectors.<protocol>`, which registers
    itself when imported; so a new protocol needs only its own module. A name ending in a version
    digit ("cmpp2") is also looked for in the module without it, which registers every version.
    """
    protocol = config.protocol.lower()
    for module in dict.fromkeys((protocol, protocol.rstrip("0123456789"))):
        if protocol in _ADAPTERS or not _MODULE_NAME.fullmatch(module):
            break
        try:
            importlib.import_module(f"smsplatform.connectors.{module}")
        except ModuleNotFoundError as error:
            if error.name != f"smsplatform.connectors.{module}":
                raise
    factory = _ADAPTERS.get(protocol)
    if factory is None:
        raise ValueError(f"no connector for protocol {config.protocol!r}")
    return factory(config)


def create_connector(config: ConnectorConfig, *, listener_limits: ListenerLimits | None = None) -> Connector:
    """A connector for `config`, not started yet (`listener_limits`: see Connector)."""
    return Connector(config, adapter_for(config), listener_limits=listener_limits)
