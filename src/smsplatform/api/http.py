"""HTTP/1.1 on httptools for the customer API: the raw UTF-8 real clients put in request lines, long
request targets, and the listener's limits.

Clients of the original service send Chinese text and 【】 un-percent-encoded in the query string
(`/sms/send?content=用户您好。【进制数据】`), and a raw `#` that is part of a value. llhttp refuses such a
request line outright, so each request line is percent-encoded before the parser sees it: bytes ≥ 0x7f,
spaces, control characters and `#` inside the target become `%XX`, which the parameter reader decodes
back. To know where each request line starts, pipelined ones included, the stream is framed here too:
a request's head is buffered whole (up to MAX_REQUEST_LINE + MAX_HEADER_BYTES), then its body is
counted through by Content-Length or by chunks; llhttp still parses and validates every byte. Targets
longer than httptools' URL parser takes (64 KiB) are split into path and query here.

Limits (ListenerLimits): a connection is closed when its request line and headers are not complete
within `header_timeout` of its first byte (or of the connection, for the first request), or its body
within `body_timeout` of the headers; uvicorn closes it after `keepalive_timeout` idle between requests.
A source address holding `max_connections_per_source` connections has any further one closed at once,
before anything is read from it.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from smsplatform.api.codes import BODY_INVALID, message_for
from smsplatform.protocols.admission import ListenerLimits, SourceAdmission

# A 5,000-number GET with `%2C` between the numbers is ~70 KB; this leaves room for per-number contents.
MAX_REQUEST_LINE = 1024 * 1024
# The header lines after the request line, together.
MAX_HEADER_BYTES = 64 * 1024
# httptools.parse_url refuses longer targets (its offsets are 16-bit).
_PARSE_URL_LIMIT = 65_535
# Spaces and control characters too: llhttp refuses a raw tab in a target as it refuses raw UTF-8.
# `#` because clients do not escape it in values: a fragment would cut the query there.
_UNSAFE = re.compile(rb"[\x00-\x20#\x7f-\xff]")
_CHUNK_SIZE_LINE_MAX = 4096


def escape_request_line(line: bytes) -> bytes:
    """`GET /p?q=用户 x HTTP/1.1\\r\\n` → `GET /p?q=%E7%94%A8%E6%88%B7%20x HTTP/1.1\\r\\n`."""
    stripped = line.rstrip(b"\r\n")
    ending = line[len(stripped) :]
    first = stripped.find(b" ")
    last = stripped.rfind(b" ")
    if first < 0 or last <= first:
        return line
    target = stripped[first + 1 : last]
    escaped = _UNSAFE.sub(lambda m: b"%%%02X" % m.group()[0], target)
    return stripped[: first + 1] + escaped + stripped[last:] + ending


def _head_end(buffer: bytes | bytearray, start: int) -> int:
    """The offset just past the blank line that ends a request head, or -1."""
    crlf = buffer.find(b"\r\n\r\n", start)
    lf = buffer.find(b"\n\n", start)
    if crlf >= 0 and (lf < 0 or crlf + 2 <= lf):
        return crlf + 4
    return lf + 2 if lf >= 0 else -1


class ChunkedBodyEnd:
    """Finds where a chunked body ends (after its last chunk and trailers), without decoding it: only
    to know where the next request line starts. llhttp parses the same bytes and judges them."""

    def __init__(self) -> None:
        self._line = bytearray()
        self._remaining = 0  # data bytes of the current chunk, then its CRLF
        self._in_data = False
        self._in_trailers = False
        self.malformed = False

    def consume(self, data: bytes) -> int:
        """How many bytes of `data` belong to the body; less than `len(data)` once it ended (or -1 if
        it has not ended within them)."""
        position = 0
        size = len(data)
        while position < size:
            if self._in_data:
                step = min(self._remaining, size - position)
                position += step
                self._remaining -= step
                if self._remaining == 0:
                    self._in_data = False
                continue
            newline = data.find(b"\n", position)
            if newline < 0:
                self._line += data[position:]
                if len(self._line) > _CHUNK_SIZE_LINE_MAX:
                    self.malformed = True
                    return size
                return -1
            self._line += data[position:newline]
            position = newline + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            if self._in_trailers:
                if not line:
                    return position
                continue
            if not line:  # the CRLF after a chunk's data
                continue
            try:
                chunk = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.malformed = True
                return size
            if chunk == 0:
                self._in_trailers = True
            else:
                self._remaining = chunk
                self._in_data = True
        return -1


class AnswerTransport:
    """The connection's transport as one answer sees it: the answer's head is held back until its body
    is written, so that an answer leaves in one write (one system call, one segment) where uvicorn
    writes its head and its body apart, a system call each. Held for one turn of the event loop at
    most: a body written later (a stream) finds the head gone ahead of it."""

    __slots__ = ("_first", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held = b""
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first:
            if data.startswith(b"HTTP/1.1 100 "):
                # An interim answer: the client waits for it before it sends its body.
                self._transport.write(data)
                return
            self._first = False
            self._held = data
            self._loop.call_soon(self._flush)
            return
        if self._held:
            data = self._held + data
            self._held = b""
        self._transport.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, b""
        if held and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


# Seconds between two reads of a body whose request is answered already (about 6 MB/s at most).
DISCARD_PAUSE = 0.01


class RawUtf8HttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with request lines escaped first, long targets taken, and the
    listener's limits held. `http_protocol(limits)` makes one class per listener."""

    limits: ClassVar[ListenerLimits] = ListenerLimits()
    admission: ClassVar[SourceAdmission] = SourceAdmission(ListenerLimits())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.limits.keepalive_timeout  # type: ignore[assignment]
        self._head = bytearray()
        self._head_scanned = 0
        self._body_left = 0  # Content-Length bytes of the current request not yet fed
        self._chunked: ChunkedBodyEnd | None = None
        self._in_head = True
        self._passthrough = False  # framing gave up: llhttp alone sees the rest (and refuses it)
        self._message_complete = False
        self._long_query: bytes | None = None
        self._source: str | None = None  # counted in `admission` while this connection is open
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_seconds = 0.0

    # Connection admission and deadlines.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        source = self.client[0] if self.client else ""
        if not self.admission.connection_opened(source):
            transport.close()
            return
        self._source = source
        self._arm(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._source is not None:
            self.admission.connection_closed(self._source)
            self._source = None
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline_seconds = seconds
        self._deadline = self.loop.call_later(seconds, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # The server stopped reading (an earlier request is still being answered): no fault of
            # the client's, so its time starts again.
            self._arm(self._deadline_seconds)
            return
        cycle = self.cycle
        if self._in_head and cycle is not None and not cycle.response_complete:
            # The next request is late, but the answer to this one is on its way: close after it.
            cycle.keep_alive = False
            return
        self.transport.close()

    # Framing: where each request's head starts, so that its request line is escaped.

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        while data and not self.transport.is_closing():
            if self._passthrough:
                super().data_received(data)
                return
            if self._in_head:
                data = self._take_head(data)
            elif self._chunked is not None:
                used = self._chunked.consume(data)
                if used < 0 or self._chunked.malformed:
                    self._passthrough = self._chunked.malformed
                    super().data_received(data)
                    return
                super().data_received(data[:used])
                data = data[used:]
                self._body_done()
            else:
                step = min(self._body_left, len(data))
                self._body_left -= step
                super().data_received(data[:step])
                data = data[step:]
                if self._body_left == 0:
                    self._body_done()
        self._trickle_answered_body()

    def _trickle_answered_body(self) -> None:
        """A body whose request was answered before it was read (refused on its head: see
        api/guard.refuse_early) is read past one read per DISCARD_PAUSE, not at the speed of the network:
        its client has its answer, and one that sends such bodies back to back would otherwise have the
        process read them for it as fast as it sends (libuv reads on while there is data)."""
        cycle = self.cycle
        if self._in_head or cycle is None or not cycle.response_complete or self.transport.is_closing():
            return
        if self.flow.read_paused:
            return
        self.transport.pause_reading()
        self.loop.call_later(DISCARD_PAUSE, self._read_on)

    def _read_on(self) -> None:
        if not self.transport.is_closing() and not self.flow.read_paused:
            self.transport.resume_reading()

    def _take_head(self, data: bytes) -> bytes:
        """Buffers `data` until a whole head is in, feeds it escaped; returns what follows it."""
        if not self._head:
            if data[:1] in (b"\r", b"\n"):
                data = data.lstrip(b"\r\n")  # empty lines before a request line are allowed
                if not data:
                    return b""
            end = _head_end(data, 0)
            if end >= 0:  # the usual case: a whole head in one read, fed without a copy
                return self._feed_head(data, end)
            if self._deadline is None:
                self._arm(self.limits.header_timeout)
        self._head += data
        end = _head_end(self._head, self._head_scanned)
        if end < 0:
            self._head_scanned = max(0, len(self._head) - 3)
            line_end = self._head.find(b"\n")
            too_long = len(self._head) > MAX_REQUEST_LINE + MAX_HEADER_BYTES or (
                line_end < 0 and len(self._head) > MAX_REQUEST_LINE
            )
            if too_long:
                self._refuse_head(bytes(self._head[:256]))
            return b""
        buffered = bytes(self._head)
        self._head.clear()
        self._head_scanned = 0
        return self._feed_head(buffered, end)

    def _feed_head(self, data: bytes, end: int) -> bytes:
        """Feeds the head `data[:end]`, its request line escaped; returns what follows it."""
        line_end = data.find(b"\n", 0, end) + 1
        if line_end > MAX_REQUEST_LINE or end - line_end > MAX_HEADER_BYTES:
            self._refuse_head(data[:256])
            return b""
        self._disarm()
        self._in_head = False
        self._message_complete = False
        first = data.find(b" ", 0, line_end)
        last = data.rfind(b" ", 0, line_end)
        if 0 <= first < last and _UNSAFE.search(data, first + 1, last):
            head = escape_request_line(data[:line_end]) + data[line_end:end]
        else:
            head = data if end == len(data) else data[:end]
        super().data_received(head)
        rest = data[end:]
        if self.transport.is_closing() or self._message_complete:
            self._in_head = True
            return rest
        self._frame_body()
        return rest

    def _frame_body(self) -> None:
        """After a head that leaves its message open: how its body is delimited."""
        length: bytes | None = None
        chunked = False
        for name, value in self.headers:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            self._chunked = ChunkedBodyEnd()
        elif length is not None and length.strip().isdigit():
            self._body_left = int(length)
        else:
            self._passthrough = True
            return
        self._arm(self.limits.body_timeout)

    def _body_done(self) -> None:
        """The framing counted the body through: the next byte starts a request head."""
        self._chunked = None
        if self.transport.is_closing():
            return
        if not self._message_complete:
            # llhttp reads the body otherwise than the framing here: the rest is left to it alone.
            self._passthrough = True
            return
        self._in_head = True
        self._disarm()

    def _refuse_head(self, start: bytes) -> None:
        """A request line over MAX_REQUEST_LINE or headers over MAX_HEADER_BYTES: under /sms/ the
        envelope (235), elsewhere 414; then the connection is closed. `start`: the head's first bytes."""
        parts = start.split(b" ", 2)
        target = parts[1] if len(parts) > 1 else b""
        self._head.clear()
        if target.startswith(b"/sms/"):
            body = orjson.dumps({"status": str(BODY_INVALID), "msg": message_for(BODY_INVALID), "result": ""})
            status = b"200 OK"
            media_type = b"application/json; charset=utf-8"
        else:
            body, status, media_type = b"URI Too Long", b"414 URI Too Long", b"text/plain; charset=utf-8"
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\ncontent-type: " + media_type + b"\r\ncontent-length: "
            b"%d\r\nconnection: close\r\n\r\n" % len(body) + body
        )
        self.transport.close()

    # Parser callbacks.

    def on_message_begin(self) -> None:
        self._message_complete = False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._long_query = None
        if len(self.url) > _PARSE_URL_LIMIT:
            # httptools.parse_url would refuse it: the path goes to uvicorn, the query is set here.
            path, _, self._long_query = bytes(self.url).partition(b"?")
            self.url = path
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.transport is self.transport:  # a new answer's cycle
            cycle.transport = AnswerTransport(self.transport, self.loop)  # type: ignore[assignment]
        if self._long_query is not None:
            # The ASGI task starts on the next turn of the loop, so it sees the whole query.
            self.scope["query_string"] = self._long_query

    def on_message_complete(self) -> None:
        self._message_complete = True
        super().on_message_complete()


def http_protocol(limits: ListenerLimits) -> type[RawUtf8HttpToolsProtocol]:
    """The protocol class uvicorn builds each connection with, holding to `limits`; the connections
    of one listener share one count per source address."""

    class ListenerProtocol(RawUtf8HttpToolsProtocol):
        pass

    ListenerProtocol.limits = limits
    ListenerProtocol.admission = SourceAdmission(limits)
    return ListenerProtocol
