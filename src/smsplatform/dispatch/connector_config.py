"""From the operator's connector rows to the links' configuration.

The store keeps protocol extras as a flat string map (`options`); the few that tune the link engine
itself (timeouts, bind mode, the binds allowed across nodes) become ConnectorConfig fields, everything
else stays protocol extra.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.store.connectors import ConnectorRow

_ENGINE_OPTIONS: Mapping[str, Callable[[str], Any]] = {
    "enquire_interval": float,
    "response_timeout": float,
    "response_tries": int,
    "bind_wait": float,
    "connect_timeout": float,
    "reconnect_initial": float,
    "reconnect_max": float,
    "stop_timeout": float,
    "unbind_wait": float,
    "bind_mode": BindMode,
    "max_binds": int,
}


def connector_config(row: ConnectorRow) -> ConnectorConfig:
    """The link configuration for `row`; raises ValueError for an engine option it cannot read."""
    engine: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for key, value in row.options.items():
        parse = _ENGINE_OPTIONS.get(key)
        if parse is None:
            extra[key] = str(value)
            continue
        try:
            engine[key] = parse(str(value))
        except ValueError as error:
            raise ValueError(f"connector {row.name}: option {key}={value!r}: {error}") from error
    return ConnectorConfig(
        name=row.name,
        protocol=row.protocol,
        host=row.host,
        port=row.port,
        system_id=row.system_id,
        password=row.password,
        window=row.window,
        tps=row.tps,
        source_number=row.source_number,
        extra=extra,
        **engine,
    )
