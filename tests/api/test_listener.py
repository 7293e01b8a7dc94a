"""The API listener's limits over real sockets against a real uvicorn server: a client that stops half
way through a request line, its headers or its body, or that keeps an idle connection, is closed; one
address cannot hold more than its share of connections."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from smsplatform.api.http import http_protocol
from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.protocols.admission import ListenerLimits
from smsplatform.store import customers
from smsplatform.store.database import Database
from tests.waiting import deliberate_delay, wait_until

# Short limits, so that each test waits a fraction of a second for what it checks.
SHORT = ListenerLimits(
    header_timeout=0.4, body_timeout=0.4, keepalive_timeout=0.4, max_connections_per_source=0
)
# The longest any of them may take to close a connection here, machine load included.
DEADLINE = 10.0


class Listener:
    def __init__(self, port: int, appkey: str) -> None:
        self.port = port
        self.appkey = appkey

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)

    def balance(self) -> bytes:
        return f"GET /sms/balance?appkey={self.appkey} HTTP/1.1\r\nHost: sms\r\n\r\n".encode()


@contextlib.contextmanager
def running(tmp_path_factory: pytest.TempPathFactory, limits: ListenerLimits) -> Iterator[Listener]:
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('listener') / 'smsplatform.db'}")
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "进制数据", 1000)
    platform = build_platform(Settings(ip_limit_per_second=0, ip_limit_per_minute=0), db=db)
    config = uvicorn.Config(
        platform.app,
        http=http_protocol(limits),
        lifespan="off",
        log_level="warning",
        access_log=False,
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, DEADLINE, "the server to start", every=0.01)
    try:
        yield Listener(listener.getsockname()[1], customer.appkey)
    finally:
        server.should_exit = True
        thread.join(timeout=DEADLINE)
        db.close()
        listener.close()


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listener]:
    with running(tmp_path_factory, SHORT) as listener:
        yield listener


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection; fails if it has not by DEADLINE."""
    sock.settimeout(DEADLINE)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"still open after {DEADLINE} s; received {received[:200]!r}")
    return received


def answers_in(received: bytes) -> int:
    return received.count(b"HTTP/1.1 200 OK")


def test_a_connection_that_sends_nothing_is_closed(short: Listener) -> None:
    with short.connect() as sock:
        assert read_until_closed(sock) == b""


@pytest.mark.parametrize(
    "part",
    [b"GET /sms/bal", "GET /sms/balance?content=【进制".encode(), b"GET /sms/balance HTTP/1.1\r\nHost: s"],
)
def test_half_a_request_line_or_half_the_headers_is_closed(short: Listener, part: bytes) -> None:
    with short.connect() as sock:
        sock.sendall(part)
        assert read_until_closed(sock) == b""


def test_a_request_sent_a_byte_at_a_time_is_closed_at_the_header_timeout(short: Listener) -> None:
    # Progress does not buy time: the deadline runs from the request's first byte.
    request = short.balance()[:-2] + b"X-Padding: " + b"x" * 10_000
    with short.connect() as sock:
        sock.settimeout(DEADLINE)
        started = time.monotonic()
        with pytest.raises(OSError):
            for byte in request:
                sock.sendall(bytes([byte]))
                deliberate_delay(0.01)  # the slowness is what the header timeout is for
                assert time.monotonic() - started < DEADLINE, "still open"
        # Closed before the request could be complete: whatever was read then is no answer.
        assert answers_in(read_until_closed(sock)) == 0


def test_a_short_body_is_closed_and_never_answered(short: Listener) -> None:
    head = b"POST /sms/balance HTTP/1.1\r\nHost: sms\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    with short.connect() as sock:
        sock.sendall(head + b"Content-Length: 100\r\n\r\nappkey=" + short.appkey.encode())
        assert read_until_closed(sock) == b""


def test_a_chunked_body_that_never_ends_is_closed(short: Listener) -> None:
    head = b"POST /sms/balance HTTP/1.1\r\nHost: sms\r\nTransfer-Encoding: chunked\r\n\r\n"
    with short.connect() as sock:
        sock.sendall(head + b"5\r\nappke\r\n")
        assert read_until_closed(sock) == b""


def test_an_idle_kept_alive_connection_is_closed_after_its_answer(short: Listener) -> None:
    with short.connect() as sock:
        sock.sendall(short.balance())
        received = read_until_closed(sock)
    assert answers_in(received) == 1
    assert b'"status":"0"' in received


def test_a_late_second_request_does_not_lose_the_first_answer(short: Listener) -> None:
    with short.connect() as sock:
        sock.sendall(short.balance() + b"GET /sms/bal")
        received = read_until_closed(sock)
    assert answers_in(received) == 1


def test_requests_within_the_limits_are_answered_on_one_connection(short: Listener) -> None:
    with short.connect() as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(short.balance())
            assert reader.readline().startswith(b"HTTP/1.1 200 OK")
            while reader.readline() != b"\r\n":
                pass
            assert (
                reader.read(len(b'{"status":"0","msg":"ok","result":[]}'))
                == b'{"status":"0","msg":"ok","result":[]}'
            )


def test_connections_over_the_cap_of_one_address_are_closed_at_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    limits = ListenerLimits(
        header_timeout=60, body_timeout=60, keepalive_timeout=60, max_connections_per_source=3
    )
    with running(tmp_path_factory, limits) as listener:
        held = [listener.connect() for _ in range(3)]
        try:
            for sock in held:  # each one accepted and answered
                sock.sendall(listener.balance())
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
            with listener.connect() as refused:
                refused.sendall(listener.balance())
                assert read_until_closed(refused) == b""
            held.pop().close()

            # The address's count goes down when a connection closes: a new one is taken again.
            def answered_on_a_new_connection() -> bool:
                with listener.connect() as again:
                    again.sendall(listener.balance())
                    with contextlib.suppress(ConnectionResetError):
                        return again.recv(65536).startswith(b"HTTP/1.1 200 OK")
                return False

            wait_until(answered_on_a_new_connection, DEADLINE, "a connection taken after one closed")
        finally:
            for sock in held:
                sock.close()
