"""A customer's callback receiver on 127.0.0.1: real sockets, HTTP/1.1 with keep-alive (h11).

It records every request and answers with whatever status `answer` decides; `answer` may also take its
time, or never return (a receiver that hangs).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import h11


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int = 0  # what we answered; 0 while unanswered

    def json(self) -> Any:
        return json.loads(self.body)


Answer = Callable[[Received], Awaitable[int]]


async def accept(_: Received) -> int:
    return 200


@dataclass
class Receiver:
    answer: Answer = accept
    requests: list[Received] = field(default_factory=list)
    busy: Counter[str] = field(default_factory=Counter)  # requests being answered, per path
    most_busy: Counter[str] = field(default_factory=Counter)  # the most ever at once, per path
    most_busy_overall: int = 0
    connections: int = 0  # connections accepted so far
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    def url(self, path: str) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{path}"

    def acknowledged(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    conn.receive_data(data)
                    if not data:
                        return
                elif isinstance(event, h11.Request):
                    request = Received(
                        path=event.target.decode(),
                        headers={k.decode().lower(): v.decode() for k, v in event.headers},
                        body=b"",
                    )
                elif isinstance(event, h11.Data):
                    request.body += bytes(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    writer.write(await self._respond(conn, request))
                    await writer.drain()
                    if conn.our_state is h11.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
                else:
                    return
        except (ConnectionError, h11.ProtocolError):
            return
        except asyncio.CancelledError:  # closing: end quietly (asyncio logs handlers that end cancelled)
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _respond(self, conn: h11.Connection, request: Received) -> bytes:
        self.requests.append(request)
        self.busy[request.path] += 1
        self.most_busy[request.path] = max(self.most_busy[request.path], self.busy[request.path])
        self.most_busy_overall = max(self.most_busy_overall, sum(self.busy.values()))
        try:
            status = await self.answer(request)
        finally:
            self.busy[request.path] -= 1
        request.status = status
        body = b"" if status in (204, 304) else b"ok"  # those answers have no body
        events = [
            h11.Response(status_code=status, headers=[("Content-Length", str(len(body)))]),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ]
        return b"".join(conn.send(event) or b"" for event in events)
