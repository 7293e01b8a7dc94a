"""Cost before trust over a real socket: a long body whose head shows it is no request of this API, or
whose appkey is no customer's, is answered before the rest of it is even sent; a customer's long body,
its appkey at either end, is read whole; the connection stays usable after an early answer."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from smsplatform.api.params import PEEK_WINDOW
from smsplatform.protocols.admission import ListenerLimits
from tests.api.test_listener import Listener, running

FORM = "application/x-www-form-urlencoded"
LENGTH = 2 * 1024 * 1024 - 1024
UNKNOWN = "0" * 32


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listener]:
    with running(tmp_path_factory, ListenerLimits(body_timeout=60, header_timeout=60)) as listener:
        yield listener


def head_of_post(path: str, content_type: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: sms\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def answer(sock: socket.socket) -> dict[str, str]:
    """The next answer on the connection, its JSON envelope."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or pytest.fail("closed before an answer")
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))[15:]
    )
    while len(body) < length:
        body += sock.recv(65536) or pytest.fail("closed inside an answer")
    return dict(json.loads(body))


@pytest.mark.parametrize(
    ("content_type", "first_bytes"),
    [
        (FORM, b"%" * (PEEK_WINDOW + 1024)),
        (FORM, b"&" * (PEEK_WINDOW + 1024)),
        ("application/json", b'{"a":' * ((PEEK_WINDOW + 1024) // 5)),
        (
            "multipart/form-data; boundary=b",
            b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n" * 3000,
        ),
    ],
    ids=["percent", "ampersands", "nested json", "tiny parts"],
)
def test_a_body_whose_head_is_no_request_is_refused_before_the_rest_is_sent(
    api: Listener, content_type: str, first_bytes: bytes
) -> None:
    # Without an appkey 101, as a short body without one; a customer's such body 235, what decoding
    # it would answer.
    for query, status in (("", "101"), (f"?appkey={api.appkey}", "235")):
        with api.connect() as sock:
            sock.sendall(head_of_post("/sms/send" + query, content_type, LENGTH) + first_bytes)
            assert answer(sock)["status"] == status  # the rest of the body is not sent yet
            sock.sendall(b"x" * (LENGTH - len(first_bytes)))  # read past, and the connection goes on
            sock.sendall(api.balance())
            assert answer(sock)["status"] == "0"


def test_an_unknown_appkey_is_refused_before_the_rest_is_sent(api: Listener) -> None:
    first = b"mobile=13800138000&content=" + b"a" * (PEEK_WINDOW + 1024)
    for path, body_head in (
        (f"/sms/send?appkey={UNKNOWN}", first),
        ("/sms/send", f"appkey={UNKNOWN}&".encode() + first),
    ):
        with api.connect() as sock:
            sock.sendall(head_of_post(path, FORM, LENGTH) + body_head)
            assert answer(sock)["status"] == "101"


@pytest.mark.parametrize("where", ["head", "tail"])
def test_a_customers_long_body_is_read_whole_wherever_its_appkey_is(api: Listener, where: str) -> None:
    filler = b"note=" + b"a" * (3 * PEEK_WINDOW)
    key = f"appkey={api.appkey}".encode()
    body = key + b"&" + filler if where == "head" else filler + b"&" + key
    with api.connect() as sock:
        sock.sendall(head_of_post("/sms/balance", FORM, len(body)) + body)
        found = answer(sock)
    assert found["status"] == "0", found
