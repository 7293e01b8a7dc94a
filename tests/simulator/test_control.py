"""The control port and run_simulator, as the CLI and end-to-end tests use them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.model import InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.simulator.control import control_request
from smsplatform.simulator.runner import run_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import eventually


async def test_run_simulator_with_control_port() -> None:
    ready: asyncio.Future[tuple[SmscServer[Any], int | None]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_simulator(
            "smpp",
            port=0,
            accounts={"esme": "pw"},
            control_port=0,
            record=True,
            started=lambda server, control: ready.set_result((server, control)),
        )
    )
    server, control_port = await asyncio.wait_for(ready, 2.0)
    assert control_port is not None
    link = create_connector(
        ConnectorConfig("l", "smpp", "127.0.0.1", server.port, "esme", "pw", reconnect_initial=0.02)
    )
    inbound: list[InboundSms] = []
    link.on_inbound = inbound.append
    await link.start()
    try:
        assert await link.wait_bound(2.0)
        assert (await link.submit(OutboundSms(1, "1069", "13800138000", "hello"))).ok

        counters = await control_request("127.0.0.1", control_port, "counters")
        assert counters["submits"] == 1 and counters["sessions"] == 1
        received = await control_request("127.0.0.1", control_port, "received")
        assert received[0]["text"] == "hello" and received[0]["system_id"] == "esme"
        assert (
            await control_request(
                "127.0.0.1", control_port, "inject_mo", source="139", destination="1069", text="TD"
            )
            == "esme"
        )
        await eventually(lambda: len(inbound) == 1)

        await control_request("127.0.0.1", control_port, "throttle", value=1.0)
        assert (await link.submit(OutboundSms(2, "1069", "13800138000", "x"))).error == "0x00000058"
        await control_request("127.0.0.1", control_port, "clear_faults")
        assert await control_request("127.0.0.1", control_port, "drop_connections") == 1
        with pytest.raises(RuntimeError, match="unknown command"):
            await control_request("127.0.0.1", control_port, "explode")
        with pytest.raises(RuntimeError, match="KeyError"):
            await control_request("127.0.0.1", control_port, "slow_responses")
    finally:
        await link.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
