"""The control port and run_simulator, as the CLI and end-to-end tests use them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.model import InboundSms, OutboundSms
from smsplatform.connectors.registry import create_connector
from smsplatform.simulator.control import control_request
from smsplatform.simulator.report_log import read_report_log
from smsplatform.simulator.runner import run_simulator
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import eventually


@contextlib.asynccontextmanager
async def simulator_with_control(*, record: bool = False) -> AsyncIterator[tuple[SmscServer[Any], int]]:
    """An SMPP simulator with a control port, run as the CLI runs it; stopped (cancelled) after."""
    ready: asyncio.Future[tuple[SmscServer[Any], int | None]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_simulator(
            "smpp",
            port=0,
            accounts={"esme": "pw"},
            control_port=0,
            record=record,
            started=lambda server, control: ready.set_result((server, control)),
        )
    )
    try:
        server, control_port = await asyncio.wait_for(ready, 2.0)
        assert control_port is not None
        yield server, control_port
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_run_simulator_with_control_port() -> None:
    async with simulator_with_control(record=True) as (server, control_port):
        await _drive(server, control_port)


async def _drive(server: SmscServer[Any], control_port: int) -> None:
    """Each command of the control port, checked against what a link to the simulator sees."""
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


async def test_the_report_log_says_when_each_receipt_left_and_for_which_number(tmp_path: Path) -> None:
    async with simulator_with_control() as (server, control_port):
        path, started, ended = await _log_three_reports(server, control_port, tmp_path)
    log = read_report_log(path)
    assert sorted(log.numbers) == [13900000000, 13900000001, 13900000002]
    assert all(started <= sent <= ended for sent in log.times)  # this process's clock: the same one


async def _log_three_reports(
    server: SmscServer[Any], control_port: int, tmp_path: Path
) -> tuple[Path, float, float]:
    """One receipt before the log starts, three after; the log's file and when the three went."""
    link = create_connector(ConnectorConfig("l", "smpp", "127.0.0.1", server.port, "esme", "pw"))
    reports: list[object] = []
    link.on_report = reports.append
    await link.start()
    try:
        assert await link.wait_bound(2.0)
        with pytest.raises(RuntimeError, match="log_reports first"):
            await control_request("127.0.0.1", control_port, "write_report_log", path=str(tmp_path / "x"))
        assert (await link.submit(OutboundSms(1, "1069", "13800138000", "before the log"))).ok
        await eventually(lambda: len(reports) == 1)
        await control_request("127.0.0.1", control_port, "log_reports")
        started = time.monotonic()
        for n in range(3):
            assert (await link.submit(OutboundSms(2 + n, "1069", f"1390000000{n}", "hello"))).ok
        await eventually(lambda: len(reports) == 4)
        ended = time.monotonic()
        path = tmp_path / "reports.log"
        assert await control_request("127.0.0.1", control_port, "write_report_log", path=str(path)) == 3
    finally:
        await link.stop()
    return path, started, ended
