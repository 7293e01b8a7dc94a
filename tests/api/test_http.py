"""Escaping the request line so llhttp accepts what real clients send (the server test is test_raw_utf8)."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from hypothesis import given
from hypothesis import strategies as st

from smsplatform.api.http import escape_request_line


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
