"""The standalone simulator tells whoever started it where it listens and whom it lets in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from smsplatform.simulator.runner import run_simulator
from smsplatform.simulator.server import SmscServer


async def start(protocol: str, **kwargs: Any) -> tuple[asyncio.Task[None], int, int | None]:
    ready: asyncio.Future[tuple[SmscServer[Any], int | None]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_simulator(protocol, port=0, started=lambda s, c: ready.set_result((s, c)), **kwargs)
    )
    server, control = await asyncio.wait_for(ready, 5.0)
    return task, server.port, control


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_prints_its_address_credentials_and_control_port(capsys: pytest.CaptureFixture[str]) -> None:
    task, port, control = await start("smpp", accounts={"esme": "pw"}, control_port=0)
    await stop(task)
    assert capsys.readouterr().out.splitlines() == [
        f"smpp simulator listening on 127.0.0.1:{port}",
        "  accepts system_id 'esme' with password 'pw'",
        f'  control port 127.0.0.1:{control} (JSON lines, e.g. {{"cmd": "counters"}})',
    ]


async def test_names_the_protocols_own_fields_and_an_account_no_client_can_use() -> None:
    lines: list[str] = []
    task, port, _ = await start(
        "cmpp", accounts={"901234": "secret", "smsplatform": "pw"}, announce=lines.append
    )
    await stop(task)
    assert lines == [
        f"cmpp simulator listening on 127.0.0.1:{port}",
        "  accepts Source_Addr '901234' with shared secret 'secret'",
        "  accepts Source_Addr 'smsplatform' with shared secret 'pw' "
        "(too long: Source_Addr holds 6 characters, no client can send it)",
    ]


async def test_sgip_says_where_it_connects_back_to() -> None:
    lines: list[str] = []
    options = {"callback_host": "127.0.0.1", "callback_port": "8801"}
    task, _, _ = await start("sgip", accounts={"sp": "pw"}, options=options, announce=lines.append)
    await stop(task)
    assert lines[1:] == [
        "  accepts Login Name 'sp' with Login Password 'pw'",
        "  delivers reports and replies by connecting to 127.0.0.1:8801",
    ]
    lines.clear()
    task, _, _ = await start("sgip", accounts={"sp": "pw"}, announce=lines.append)
    await stop(task)
    assert lines[-1] == "  delivers no reports or replies: SGIP connects back, and no callback address is set"
