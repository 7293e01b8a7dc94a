"""A client that logs in to a link listener over a real socket and times it from outside.

The listeners are the simulators (an ESME logs in to them) and the SGIP connector's own listener (the
SMG logs in to it); `Login` says how one protocol's login is written and its answer read, so the
limit tests run the same steps against every one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smsplatform.connectors.adapter import FrameReader, SessionRole
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.registry import adapter_for
from smsplatform.simulator.runner import dialect_for

# Short enough for every protocol's login field and password (CMPP: 6 digits; SMPP: 8 characters).
LOGIN, SECRET = "901234", "secret1"

# Far longer than a refused or over-cap connection takes to close on loopback, far shorter than
# the limits under test are set to when a connection should stay.
PROMPTLY = 0.25


# A login's frame, and how to tell whether its answer let us in.
Ask = Callable[[str, str], tuple[bytes, Callable[[Any], bool]]]


@dataclass(frozen=True)
class Login:
    """How one protocol logs in: `ask(login, password)` and a reader for the answers."""

    ask: Ask
    new_reader: Callable[[], FrameReader[Any]]


def esme_login(protocol: str) -> Login:
    """An ESME's login to an SMSC (the simulators), written and judged by our own connector's adapter."""
    extra = {"listen_port": "1"} if protocol == "sgip" else {}

    def ask(login: str, password: str) -> tuple[bytes, Callable[[Any], bool]]:
        config = ConnectorConfig("probe", protocol, "127.0.0.1", 1, login, password, extra=extra)
        adapter = adapter_for(config)  # one per login: some check the answer against what they sent
        frame = adapter.encode(adapter.bind_request(SessionRole.TRANSCEIVER, 1))
        return frame, lambda answer: adapter.bind_result(answer).ok

    readers = adapter_for(ConnectorConfig("probe", protocol, "127.0.0.1", 1, LOGIN, SECRET, extra=extra))
    return Login(ask, readers.new_reader)


def smg_login() -> Login:
    """The SMG's login to an SP's listener (SGIP's connection back), as the SGIP simulator writes it."""
    dialect = dialect_for("sgip")

    def ask(login: str, password: str) -> tuple[bytes, Callable[[Any], bool]]:
        return dialect.encode(dialect.bind_request(1, login, password)), dialect.bind_accepted

    return Login(ask, dialect.new_reader)


class Probe:
    """One connection to a listener."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, login: Login) -> None:
        self.reader, self.writer, self.login = reader, writer, login
        self.frames = login.new_reader()

    @classmethod
    async def connect(cls, port: int, login: Login) -> Probe:
        return cls(*await asyncio.open_connection("127.0.0.1", port), login)

    def send(self, frame: bytes) -> None:
        self.writer.write(frame)

    async def log_in(self, password: str = SECRET, within: float = 5.0) -> tuple[bool, float]:
        """Send a login and wait for its answer: (accepted, seconds it took)."""
        frame, accepted = self.login.ask(LOGIN, password)
        started = time.monotonic()
        self.send(frame)
        answer = await self.next_pdu(within)
        return accepted(answer), time.monotonic() - started

    async def next_pdu(self, within: float = 5.0) -> Any:
        async with asyncio.timeout(within):
            while (pdu := self.frames.next_pdu()) is None:
                data = await self.reader.read(65536)
                assert data, "closed before the answer"
                self.frames.receive_data(data)
        return pdu

    async def closed_within(self, within: float) -> float:
        """Seconds until the listener closes the connection (end of stream or reset); fails the test
        when it is still open after `within`. Anything the listener sends meanwhile is dropped."""
        started = time.monotonic()
        async with asyncio.timeout(within):
            with contextlib.suppress(ConnectionError):  # a reset is a close too
                while await self.reader.read(65536):
                    pass
        return time.monotonic() - started

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
