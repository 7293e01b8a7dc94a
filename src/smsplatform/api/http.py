"""HTTP/1.1 on httptools, accepting the raw UTF-8 that real clients put in request lines.

Clients of the original service send Chinese text and 【】 un-percent-encoded in the query string
(`/sms/send?content=用户您好。【进制数据】`). llhttp refuses such a request line outright, so each request
line is percent-encoded before the parser sees it: bytes ≥ 0x7f, spaces and control characters inside
the target become `%XX`, which the parameter reader decodes back. Headers and bodies pass through
untouched.
"""

from __future__ import annotations

import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from smsplatform.protocols.admission import ListenerLimits

# Longer request lines (a 5,000-number GET is ~60 KB) are buffered whole before being fed.
MAX_REQUEST_LINE = 1024 * 1024
# Spaces and control characters too: llhttp refuses a raw tab in a target as it refuses raw UTF-8.
_UNSAFE = re.compile(rb"[\x00-\x20\x7f-\xff]")


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


class RawUtf8HttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with request lines escaped first (pipelined raw UTF-8 is not)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending_line = bytearray()
        self._at_message_start = True

    def data_received(self, data: bytes) -> None:
        if self._at_message_start:
            self._pending_line += data
            # Empty lines before a request line are allowed (some clients end a body with a CRLF).
            start = len(self._pending_line) - len(self._pending_line.lstrip(b"\r\n"))
            end = self._pending_line.find(b"\n", start)
            if end < 0 and len(self._pending_line) <= MAX_REQUEST_LINE:
                return
            buffered = bytes(self._pending_line)
            self._pending_line.clear()
            self._at_message_start = False
            if end >= 0:
                line = escape_request_line(buffered[start : end + 1])
                buffered = buffered[:start] + line + buffered[end + 1 :]
            data = buffered
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._at_message_start = False
        super().on_message_begin()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Set last: a pipelined request that began in the same chunk clears it again.
        self._at_message_start = True


def http_protocol(limits: ListenerLimits) -> type[RawUtf8HttpToolsProtocol]:
    """The protocol class uvicorn builds each connection with, holding to `limits`."""
    return RawUtf8HttpToolsProtocol
