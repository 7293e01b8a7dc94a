"""An SMPP simulator that notes when each submit reached it and which sessions are bound: what the
carrier sees of a connector's rate and binds, measured at its side of the wire."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsplatform.connectors.model import OutboundSms
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer


class CountingSmsc:
    """The simulator, and the loop times its submits arrived at."""

    def __init__(self, server: SmscServer[Any]) -> None:
        self.server = server
        self.arrivals: list[float] = []
        receive = server.on_submit

        def on_submit(session: Any, pdu: Any) -> None:
            self.arrivals.append(asyncio.get_running_loop().time())
            receive(session, pdu)

        server.on_submit = on_submit  # type: ignore[method-assign]

    @property
    def port(self) -> int:
        return self.server.port

    def bound_sessions(self) -> int:
        return sum(1 for session in self.server.sessions if session.bound)

    def busiest_second(self, start: float, end: float) -> int:
        """The most submits that arrived in any one second (a sliding window) within [start, end)."""
        times = [t for t in self.arrivals if start <= t < end]
        return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.arrivals if start <= t < end)


@pytest.fixture
async def counting_smsc() -> AsyncIterator[CountingSmsc]:
    server = create_simulator("smpp", {"esme": "pw"}, LastDigitRule(delay=0.01))
    server.record = False
    await server.start()
    yield CountingSmsc(server)
    await server.close()


async def push(submit: Any, until: float, senders: int = 32) -> int:
    """Submit through `submit` (a link's) from `senders` tasks at once, as fast as they are let, until
    the loop time `until`; how many the SMSC accepted."""
    loop = asyncio.get_running_loop()
    accepted = 0

    async def sender(number: int) -> None:
        nonlocal accepted
        key = number * 1_000_000
        while loop.time() < until:
            key += 1
            result = await submit(OutboundSms(key, "1069000", "13800138000", "code 1234"))
            accepted += result.ok

    await asyncio.gather(*(sender(n) for n in range(senders)))
    return accepted
