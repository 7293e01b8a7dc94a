"""Escaping the request line so llhttp accepts what real clients send (the server test is test_raw_utf8), and
answers written whole."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote_to_bytes

import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.server import ServerState

from smsplatform.api.http import escape_request_line, http_protocol
from smsplatform.protocols.admission import ListenerLimits


def test_raw_utf8_in_the_target_is_percent_encoded() -> None:
    line = "GET /sms/send?content=用户您好。【进制数据】&mobile=1 HTTP/1.1\r\n".encode()
    escaped = escape_request_line(line)
    assert escaped.startswith(b"GET /sms/send?content=%E7%94%A8%E6%88%B7")
    assert escaped.endswith(b"&mobile=1 HTTP/1.1\r\n")
    assert escaped.isascii()


def test_spaces_and_control_characters_inside_the_target() -> None:
    assert escape_request_line(b"GET /a?b=c d\te HTTP/1.1\r\n") == b"GET /a?b=c%20d%09e HTTP/1.1\r\n"


def test_plain_lines_are_unchanged() -> None:
    for line in (b"GET /sms/balance?appkey=x&a=%E4%BD%A0+b HTTP/1.1\r\n", b"POST / HTTP/1.0\n", b"garbage"):
        assert escape_request_line(line) == line


@given(st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b))
def test_the_target_survives_escaping(target: bytes) -> None:
    escaped = escape_request_line(b"GET /sms/x?" + target + b" HTTP/1.1\r\n")
    method, _, rest = escaped.partition(b" ")
    sent, _, version = rest.rpartition(b" ")
    assert (method, version) == (b"GET", b"HTTP/1.1\r\n")
    assert all(0x21 <= byte < 0x7F for byte in sent)
    assert unquote_to_bytes(sent) == unquote_to_bytes(b"/sms/x?" + target)


# --- answers leave in one write -----------------------------------------------------------------


class RecordingTransport(asyncio.Transport):
    """What the protocol writes, each write apart (each one is a system call on a real socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def answered(app: ASGIApp, request: bytes, transport: RecordingTransport) -> RecordingTransport:
    """`request` fed to the API's protocol over `transport`, which has recorded what was written by the
    time `app` returned and the loop turned once more."""
    done = asyncio.Event()

    async def app_then_done(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        finally:
            done.set()

    config = uvicorn.Config(app_then_done, lifespan="off", log_level="warning", access_log=False)
    config.load()
    protocol = http_protocol(ListenerLimits())(config, ServerState(), {}, asyncio.get_running_loop())
    protocol.connection_made(transport)
    protocol.data_received(request)
    await asyncio.wait_for(done.wait(), 10)
    await asyncio.sleep(0)
    protocol.connection_lost(None)
    return transport


async def small_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_an_answer_leaves_in_one_write() -> None:
    transport = await answered(
        small_answer, b"GET /sms/x HTTP/1.1\r\nHost: sms\r\n\r\n", RecordingTransport()
    )
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"content-length: 2\r\n\r\nok")


async def test_a_streamed_body_does_not_hold_the_head_back() -> None:
    transport = RecordingTransport()
    heads_written: list[int] = []

    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.01)  # the body comes turns of the loop later
        heads_written.append(sum(w.startswith(b"HTTP/1.1 200 OK") for w in transport.writes))
        await send({"type": "http.response.body", "body": b"late", "more_body": False})

    await answered(stream, b"GET /x HTTP/1.1\r\nHost: sms\r\n\r\n", transport)
    assert heads_written == [1]
    assert b"".join(transport.writes).endswith(b"4\r\nlate\r\n0\r\n\r\n")


async def test_an_interim_100_continue_is_written_at_once() -> None:
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": body})

    request = b"POST /sms/x HTTP/1.1\r\nHost: sms\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi"
    transport = await answered(echo, request, RecordingTransport())
    assert transport.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert len(transport.writes) == 2 and transport.writes[1].endswith(b"\r\n\r\nhi")
