"""Links to SMSCs: one shared asyncio engine (window, rate cap, heartbeat, reconnect, timeouts) and a
thin adapter per protocol (`adapter.py` is the seam; `smpp.py` the first adapter).

Dispatch builds links with `create_connector(ConnectorConfig(...))` and talks to `Connector`.
"""

from smsplatform.connectors.config import BindMode, ConnectorConfig
from smsplatform.connectors.link import Connector
from smsplatform.connectors.model import (
    ConnectorStats,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SubmitResult,
)
from smsplatform.connectors.registry import create_connector, register_adapter

__all__ = [
    "BindMode",
    "Connector",
    "ConnectorConfig",
    "ConnectorStats",
    "DeliveryReport",
    "InboundSms",
    "OutboundSms",
    "SubmitResult",
    "create_connector",
    "register_adapter",
]
