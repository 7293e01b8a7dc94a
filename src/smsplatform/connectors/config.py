"""How one upstream link is configured; the same shape for every protocol."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class BindMode(StrEnum):
    """Whether a link uses one two-way session or a send-only and a receive-only pair."""

    TRANSCEIVER = "transceiver"
    TRANSMITTER_RECEIVER = "transmitter_receiver"


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """One configured link.

    Timeouts left as None take the protocol's own default (SMPP answers in 30 s, CMPP in 60 s with
    3 tries). `extra` carries protocol-specific options (TON/NPI, service ids, versions) as strings,
    so the settings store does not need to know each protocol.
    """

    name: str
    protocol: str
    host: str
    port: int
    system_id: str
    password: str
    window: int = 16  # unanswered submit requests per session
    tps: float | None = None  # submit PDUs per second over the whole link; None = unlimited
    # Links of this connector bound at once across every node (the carrier's cap on connections per
    # account); None = one per dispatch process. Needs the platform's Redis to hold across nodes.
    max_binds: int | None = None
    source_number: str = ""
    enquire_interval: float | None = None  # idle seconds before a link test
    response_timeout: float | None = None  # seconds to wait for any response
    response_tries: int | None = None  # sends of one request before it times out for good
    bind_mode: BindMode = BindMode.TRANSCEIVER
    bind_wait: float = 5.0  # how long submit() waits for a bound session before failing transiently
    connect_timeout: float = 10.0
    reconnect_initial: float = 1.0  # first backoff delay after a failure; doubles up to reconnect_max
    reconnect_max: float = 30.0
    stop_timeout: float = 5.0  # how long stop() waits for in-flight responses and the unbind answer
    # How long, when the SMSC unbinds, the link waits for the answers to its submits on the wire
    # before it answers and closes (each unanswered one is sent again: a possible duplicate).
    unbind_wait: float = 2.0
    # Several processes listen on the same port (SGIP's SMSC connects back to us): the kernel spreads
    # the SMSC's connections among them.
    shared_listener: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)
