"""A real uvicorn server with the raw-UTF-8 protocol, spoken to byte by byte over a socket.

Clients of the original service put Chinese text and 【】 un-encoded into the request line, use `+`
for space, send 5,000 numbers in one GET and reuse connections: what only a real server can show.
"""

from __future__ import annotations

import http.client
import itertools
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

import orjson
import pytest
import sqlalchemy as sa
import uvicorn

from smsplatform.api.http import MAX_REQUEST_LINE, RawUtf8HttpToolsProtocol
from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.store import accounts, customers, templates
from smsplatform.store.database import Database, create_engine
from smsplatform.store.schema import messages
from smsplatform.store.templates import TemplateDraft
from tests.waiting import deliberate_delay, wait_until


class Server:
    def __init__(self, port: int, appkey: str, engine: sa.Engine) -> None:
        self.port = port
        self.appkey = appkey
        self.engine = engine

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def stored(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(messages).order_by(messages.c.id))]


def read_answer(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    assert response.getheader("content-type") == "application/json; charset=utf-8"
    return response.status, orjson.loads(body)


def get(server: Server, target: str | bytes, cuts: Sequence[int] = ()) -> dict[str, Any]:
    """One GET on a new connection; `cuts` are offsets where the request is split into separate sends."""
    raw = target.encode() if isinstance(target, str) else target
    request = b"GET " + raw + b" HTTP/1.1\r\nHost: sms\r\nConnection: close\r\n\r\n"
    with server.connect() as sock:
        bounds = [0, *cuts, len(request)]
        for start, end in itertools.pairwise(bounds):
            sock.sendall(request[start:end])
            deliberate_delay(0.02)  # separate TCP segments, separate data_received calls
        status, answer = read_answer(sock)
    assert status == 200
    return answer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('raw') / 'smsplatform.db'}"
    db = Database.open(url)
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "进制数据", 100_000)
        account = accounts.create_account(
            conn,
            customer.id,
            {"company": "进制数据", "signature": "【进制数据】", "totalnum": 50_000},
            approve=True,
        )
        for name, content, ismarket, kind in (
            ("用户您好", "用户您好。【进制数据】", 0, "notification"),
            ("问候", "Hello @, welcome", 0, "notification"),
            ("营销", "新品上市@，回TD退订", 1, "marketing"),
        ):
            draft = TemplateDraft(name, content, ismarket, kind, 1, "")
            templates.create_template(conn, account.id, draft)
    settings = Settings(ip_limit_per_second=0, ip_limit_per_minute=0)
    platform = build_platform(settings, db=db)
    config = uvicorn.Config(
        platform.app,
        http=RawUtf8HttpToolsProtocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        loop="asyncio",
    )
    uvicorn_server = uvicorn.Server(config)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    wait_until(lambda: uvicorn_server.started, 10, "the server to start", every=0.01)
    engine = create_engine(url)
    yield Server(listener.getsockname()[1], customer.appkey, engine)
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    db.close()
    listener.close()


def test_seed_example_with_raw_utf8_in_the_request_line(server: Server) -> None:
    answer = get(
        server,
        f"/sms/send?mobile=13556811111,13556811112&content=用户您好。【进制数据】&appkey={server.appkey}",
    )
    assert answer["status"] == "0", answer
    assert answer["result"]["count"] == "2"
    sent = [m for m in server.stored() if m["send_id"] == int(answer["result"]["msgid"])]
    assert [m["content"] for m in sent] == ["用户您好。【进制数据】"] * 2


def test_plus_is_a_space_in_a_raw_query(server: Server) -> None:
    answer = get(
        server,
        f"/sms/send?mobile=+8613556811113&content=Hello+张三,+welcome【进制数据】&appkey={server.appkey}",
    )
    assert answer["status"] == "0", answer
    sent = [m for m in server.stored() if m["send_id"] == int(answer["result"]["msgid"])]
    assert [(m["mobile"], m["content"]) for m in sent] == [("13556811113", "Hello 张三, welcome【进制数据】")]


def test_percent_encoded_and_raw_mixed(server: Server) -> None:
    answer = get(
        server, f"/sms/send?mobile=13556811114&content=用户您好%E3%80%82【进制数据】&appkey={server.appkey}"
    )
    assert answer["status"] == "0", answer


def test_a_60_kb_get_with_5000_numbers(server: Server) -> None:
    mobiles = ",".join(f"139{i:08d}" for i in range(5000))
    target = f"/sms/send?mobile={mobiles}&content=新品上市五折，回TD退订【进制数据】&appkey={server.appkey}"
    assert len(target.encode()) > 60_000
    answer = get(server, target)
    assert answer["status"] == "0", answer
    assert answer["result"]["count"] == "5000"


def test_a_request_line_split_inside_a_character(server: Server) -> None:
    for number, splits in enumerate(([1], [2], [1, 2, 40], [100])):
        target = f"/sms/send?mobile=1355681113{number}&content=用户您好。【进制数据】&appkey={server.appkey}"
        head = len(b"GET /sms/send?mobile=1355681113X&content=")
        # Offsets inside the three bytes of 用, or far past it: the request line arrives in pieces.
        answer = get(server, target, cuts=[head + cut for cut in splits])
        assert answer["status"] == "0", (splits, answer)


def test_two_requests_on_one_kept_alive_connection(server: Server) -> None:
    with server.connect() as sock:
        for mobile in ("13556811121", "13556811122"):
            target = f"/sms/send?mobile={mobile}&content=用户您好。【进制数据】&appkey={server.appkey}"
            sock.sendall(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: sms\r\n\r\n")
            status, answer = read_answer(sock)
            assert (status, answer["status"]) == (200, "0"), answer
        # And a POST with a raw UTF-8 form body on the same connection.
        body = f"appkey={server.appkey}&mobile=13556811123&content=用户您好。【进制数据】".encode()
        head = f"POST /sms/send HTTP/1.1\r\nHost: sms\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" + body)
        status, answer = read_answer(sock)
        assert (status, answer["status"]) == (200, "0"), answer


def test_raw_bytes_that_are_not_utf8_are_239(server: Server) -> None:
    answer = get(server, b"/sms/balance?appkey=" + server.appkey.encode() + b"&x=\xff\xfe")
    assert answer["status"] == "239"


@pytest.mark.parametrize("raw", ["'; DROP TABLE messages;--", '"<>{}|\\^`', "a\tb", "a b"])
def test_raw_punctuation_and_control_characters_get_an_envelope(server: Server, raw: str) -> None:
    answer = get(server, f"/sms/addtemplate?appkey={server.appkey}&accountid=999&name={raw}")
    assert answer["status"] == "219", answer


def test_no_appkey_over_a_real_socket(server: Server) -> None:
    assert get(server, "/sms/balance?content=【】")["status"] == "101"


def test_a_stray_line_break_before_the_request_line(server: Server) -> None:
    # Some clients end a POST body with an extra CRLF; the next request on the connection then starts
    # with it, and its request line must still be escaped.
    with server.connect() as sock:
        request = f"GET /sms/balance?appkey={server.appkey}&x=【】 HTTP/1.1\r\nHost: sms\r\n\r\n"
        sock.sendall(b"\r\n" + request.encode())
        status, answer = read_answer(sock)
    assert (status, answer["status"]) == (200, "0")


def read_answers(sock: socket.socket, count: int) -> list[dict[str, Any]]:
    """`count` answers in a row from one connection (each JSON, each HTTP 200, each with its length)."""
    return read_answers_from(sock.makefile("rb"), count)


def read_answers_from(reader: BinaryIO, count: int) -> list[dict[str, Any]]:
    answers = []
    for _ in range(count):
        status_line = reader.readline()
        assert status_line.startswith(b"HTTP/1.1 200 "), status_line
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"] == "application/json; charset=utf-8"
        answers.append(orjson.loads(reader.read(int(headers["content-length"]))))
    return answers


def sent_contents(server: Server, answer: dict[str, Any]) -> list[tuple[str, str]]:
    msgid = int(answer["result"]["msgid"])
    return [(m["mobile"], m["content"]) for m in server.stored() if m["send_id"] == msgid]


def raw_get(target: str) -> bytes:
    return b"GET " + target.encode() + b" HTTP/1.1\r\nHost: sms\r\n\r\n"


def test_two_pipelined_requests_with_raw_utf8_are_both_answered(server: Server) -> None:
    first = f"/sms/send?mobile=13556811131&content=用户您好。【进制数据】&appkey={server.appkey}"
    second = f"/sms/send?mobile=13556811132&content=Hello 李四, welcome【进制数据】&appkey={server.appkey}"
    with server.connect() as sock:
        sock.sendall(raw_get(first) + raw_get(second))
        answers = read_answers(sock, 2)
    assert [a["status"] for a in answers] == ["0", "0"], answers
    assert sent_contents(server, answers[0]) == [("13556811131", "用户您好。【进制数据】")]
    assert sent_contents(server, answers[1]) == [("13556811132", "Hello 李四, welcome【进制数据】")]


def test_pipelined_after_a_form_body_and_after_a_chunked_body(server: Server) -> None:
    body = f"appkey={server.appkey}&mobile=13556811133&content=用户您好。【进制数据】".encode()
    form = (
        b"POST /sms/send HTTP/1.1\r\nHost: sms\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (body[:10], body[10:]) if piece)
    chunked = (
        b"POST /sms/balance HTTP/1.1\r\nHost: sms\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" + chunks + b"0\r\nX-Trailer: 1\r\n\r\n"
    )
    last = raw_get(f"/sms/balance?appkey={server.appkey}&x=【】")
    with server.connect() as sock:
        sock.sendall(form + chunked + last)
        answers = read_answers(sock, 3)
    assert [a["status"] for a in answers] == ["0", "0", "0"], answers
    assert sent_contents(server, answers[0]) == [("13556811133", "用户您好。【进制数据】")]


def test_a_5000_number_get_with_escaped_commas_beyond_64_kib(server: Server) -> None:
    mobiles = "%2C".join(f"137{i:08d}" for i in range(5000))
    target = f"/sms/send?mobile={mobiles}&content=新品上市四折，回TD退订【进制数据】&appkey={server.appkey}"
    assert len(target.encode()) > 70_000
    answer = get(server, target)
    assert answer["status"] == "0", answer
    assert answer["result"]["count"] == "5000"


def test_a_request_line_up_to_one_mib_works_pipelined(server: Server) -> None:
    pad = "进" * ((MAX_REQUEST_LINE - 200) // 3)  # raw UTF-8, three bytes each
    target = f"/sms/balance?appkey={server.appkey}&pad={pad}"
    assert MAX_REQUEST_LINE - 300 < len(raw_get(target)) < MAX_REQUEST_LINE
    with server.connect() as sock:
        sock.sendall(raw_get(target) + raw_get(target))
        answers = read_answers(sock, 2)
    assert [a["status"] for a in answers] == ["0", "0"]


def test_a_request_line_over_one_mib_gets_the_envelope_and_a_close(server: Server) -> None:
    target = f"/sms/balance?appkey={server.appkey}&pad={'x' * MAX_REQUEST_LINE}"
    with server.connect() as sock:
        sock.sendall(raw_get(target))
        status, answer = read_answer(sock)
        assert (status, answer["status"]) == (200, "235")
        assert sock.recv(1) == b""


@pytest.mark.parametrize("value", ["#1", "A#", "#", "a#b#c", "##"])
def test_a_raw_hash_is_part_of_the_value(server: Server, value: str) -> None:
    mobile = f"135568114{len(value)}{value.count('#')}"
    content = f"Hello {value}, welcome【进制数据】"
    answer = get(server, f"/sms/send?mobile={mobile}&content={content}&appkey={server.appkey}")
    assert answer["status"] == "0", answer
    assert sent_contents(server, answer) == [(mobile, content)]


def test_a_get_declaring_gbk_has_its_raw_query_read_as_gbk(server: Server) -> None:
    content = "用户您好。【进制数据】".encode("gbk")
    target = b"/sms/send?mobile=13556811151&content=" + content + b"&appkey=" + server.appkey.encode()
    request = (
        b"GET " + target + b" HTTP/1.1\r\nHost: sms\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded; charset=GBK\r\n\r\n"
    )
    with server.connect() as sock:
        sock.sendall(request)
        status, answer = read_answer(sock)
    assert status == 200
    assert answer["status"] == "0", answer
    assert sent_contents(server, answer) == [("13556811151", "用户您好。【进制数据】")]


def test_an_unknown_endpoint_and_a_wrong_method_over_a_real_socket(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            raw_get("/sms/发送?x=1")
            + b"DELETE /sms/send?appkey="
            + server.appkey.encode()
            + b" HTTP/1.1\r\nHost: sms\r\n\r\n"
        )
        answers = read_answers(sock, 2)
    assert [a["status"] for a in answers] == ["240", "241"]


def test_headers_over_their_limit_get_the_envelope_and_a_close(server: Server) -> None:
    padding = b"X-Padding: " + b"x" * 1000 + b"\r\n"
    head = f"GET /sms/balance?appkey={server.appkey} HTTP/1.1\r\nHost: sms\r\n".encode()
    with server.connect() as sock:
        sock.sendall(head + padding * 70 + b"\r\n")
        status, answer = read_answer(sock)
        assert (status, answer["status"]) == (200, "235")
        assert sock.recv(1) == b""


def test_a_request_line_over_one_mib_outside_sms_is_414(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(raw_get("/healthz?pad=" + "x" * MAX_REQUEST_LINE))
        assert sock.recv(65536).startswith(b"HTTP/1.1 414 ")


def test_a_body_sent_after_100_continue_as_php_curl_does(server: Server) -> None:
    body = f"appkey={server.appkey}&mobile=13556811161&content=用户您好。【进制数据】".encode()
    head = (
        b"POST /sms/send HTTP/1.1\r\nHost: sms\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with server.connect() as sock:
        sock.sendall(head)
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 100 ")
        assert reader.readline() == b"\r\n"
        sock.sendall(body)
        [answer] = read_answers_from(reader, 1)
    assert answer["status"] == "0", answer
    assert sent_contents(server, answer) == [("13556811161", "用户您好。【进制数据】")]


@pytest.mark.parametrize("filler", ["%", "&", "a=1&", "#"])
def test_a_hostile_query_near_one_mib_without_an_appkey_is_101(server: Server, filler: str) -> None:
    query = filler * ((MAX_REQUEST_LINE - 100) // len(filler))
    assert get(server, f"/sms/send?{query}")["status"] == "101"
    assert get(server, f"/sms/send?appkey={server.appkey}&{query}")["status"] in ("201", "232")
