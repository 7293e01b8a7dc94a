"""Driving a simulator in another process: one JSON object per line in, one per line out.

Requests are {"cmd": NAME, ...arguments}; answers {"ok": true, "result": ...} or
{"ok": false, "error": TEXT}. Commands:

    counters                                   -> the counters (and gauges) as numbers
    received        [since=0] [limit]          -> recorded messages from index `since` (at most `limit`)
    inject_mo       source destination text [system_id] -> the system_id it was queued for
    drop_connections                           -> how many were dropped
    throttle        value (int: next n submits, float: share of submits)
    slow_responses  delay
    drop_responses  ratio
    clear_faults
    ping                                       -> link tests sent
    log_reports                                -> starts (or restarts) the log of receipts sent
    write_report_log path                      -> writes that log to `path`; how many it holds

Bind the control port to loopback: it has no authentication.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from smsplatform.simulator.report_log import ReportLog
from smsplatform.simulator.server import SmscServer, counters_dict

_MAX_LINE = 1 << 20


def execute(server: SmscServer[Any], request: dict[str, Any]) -> Any:
    """Run one command; ValueError/KeyError/TypeError for bad requests."""
    command = request.get("cmd")
    if command == "counters":
        return counters_dict(server)
    if command == "received":
        since = int(request.get("since", 0))
        limit = request.get("limit")
        until = None if limit is None else since + int(limit)
        return [asdict(message) for message in server.received[since:until]]
    if command == "inject_mo":
        return server.inject_mo(
            str(request["source"]),
            str(request["destination"]),
            str(request["text"]),
            request.get("system_id"),
        )
    if command == "drop_connections":
        return server.drop_connections()
    if command == "throttle":
        server.throttle(request["value"])
    elif command == "slow_responses":
        server.slow_responses(float(request["delay"]))
    elif command == "drop_responses":
        server.drop_responses(float(request["ratio"]))
    elif command == "clear_faults":
        server.clear_faults()
    elif command == "ping":
        return server.ping()
    elif command == "log_reports":
        server.report_log = ReportLog()
    elif command == "write_report_log":
        if server.report_log is None:
            raise ValueError("the report log is off: log_reports first")
        return server.report_log.write(Path(str(request["path"])))
    else:
        raise ValueError(f"unknown command {command!r}")
    return None


async def start_control(server: SmscServer[Any], host: str, port: int) -> asyncio.Server:
    """Listen for control connections; returns the asyncio server (close it to stop)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(_answer(server, line) + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, host, port, limit=_MAX_LINE)


def _answer(server: SmscServer[Any], line: bytes) -> bytes:
    try:
        request = json.loads(line)
        if not isinstance(request, dict):
            raise ValueError("a request is a JSON object")
        answer = {"ok": True, "result": execute(server, request)}
    except (ValueError, KeyError, TypeError) as error:
        answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    return json.dumps(answer, ensure_ascii=False).encode()


async def control_request(host: str, port: int, cmd: str, **arguments: Any) -> Any:
    """Send one command to a simulator's control port and return its result (client side)."""
    reader, writer = await asyncio.open_connection(host, port, limit=_MAX_LINE)
    try:
        writer.write(json.dumps({"cmd": cmd, **arguments}).encode() + b"\n")
        await writer.drain()
        answer = json.loads(await reader.readline())
    finally:
        writer.close()
        await writer.wait_closed()
    if not answer.get("ok"):
        raise RuntimeError(answer.get("error", "control request failed"))
    return answer.get("result")
