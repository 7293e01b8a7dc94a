"""Our CMPP ISMG (the simulator) against CMPP clients we did not write, from PyPI.

- pycmpp 2.0.2: a CMPP 2.0 SP client (CONNECT with Version 0x21, UCS-2 submits, long ones split with
  TP_udhi and a concatenation header, ACTIVE_TEST, TERMINATE).
- cmppy 0.3: a CMPP 3.0 SP client (CONNECT, one SUBMIT, TERMINATE per call).

Both are blocking socket clients, so they run in a thread while the simulator serves on the loop.
Neither reads CMPP_DELIVER, so reports and MO are covered by the tests on our own connector.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator
from smsplatform.simulator.server import SmscServer

SP_ID, SECRET = "901234", "s3cret"
ACTIVE_TEST_RESP = 0x80000008
TERMINATE_RESP = 0x80000002
LONG_TEXT = "尊敬的客户，您本月的话费账单已经生成，请登录网上营业厅查询详细信息。" * 4  # 136 characters


def _missing(package: str) -> str:
    return f"{package} is not installed (pip install -e .[dev] brings it): the interop test needs it"


def read_frame(sock: socket.socket) -> bytes:
    """One whole frame as the peer sent it (Total_Length first), or b"" when the peer closed."""
    head = _read_exactly(sock, 4)
    if not head:
        return b""
    (length,) = struct.unpack("!L", head)
    return head + _read_exactly(sock, length - 4)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return data
        data += chunk
    return data


def command_id(frame: bytes) -> int:
    return int(struct.unpack("!L", frame[4:8])[0])


async def serve(protocol: str) -> SmscServer[Any]:
    server = create_simulator(protocol, {SP_ID: SECRET}, LastDigitRule(delay=0.0))
    await server.start()
    return server


@pytest.fixture
async def cmpp2_ismg() -> AsyncIterator[SmscServer[Any]]:
    server = await serve("cmpp2")
    yield server
    await server.close()


@pytest.fixture
async def cmpp3_ismg() -> AsyncIterator[SmscServer[Any]]:
    server = await serve("cmpp")
    yield server
    await server.close()


# -- pycmpp: CMPP 2.0 ---------------------------------------------------------------------------


def pycmpp_session(port: int, secret: str) -> dict[str, Any]:
    """Log in, submit a short and a long message, test the link, terminate; what pycmpp read back."""
    from pycmpp.cmpp import Cmpp  # type: ignore[import-untyped]
    from pycmpp.request import ActiveTestRequestInstance, ConnectRequestInstance  # type: ignore[import-untyped]
    from pycmpp.response import ConnectResponseInstance, SubmitResponseInstance  # type: ignore[import-untyped]

    client = Cmpp("127.0.0.1", port, SP_ID, secret, "1069000101", client_heartbeat=False)
    client.connect()
    try:
        login = ConnectRequestInstance()
        client.send(login.create(SP_ID, secret))
        connect_resp = ConnectResponseInstance()
        connect_resp.resolve(read_frame(client.so))
        seen: dict[str, Any] = {
            "status": connect_resp.status,
            "version": connect_resp.version,
            "authenticator_ismg": connect_resp.authenticator_ISMG,
            "authenticator_source": login.auth_source,
        }
        if connect_resp.status != 0:
            seen["closed"] = read_frame(client.so) == b""
            return seen
        client.submit("您好，验证码 1234", ["13800138000"])
        client.submit(LONG_TEXT, ["13800138001"])
        answers = []
        for _ in range(4):  # one short, three segments of 64 characters or fewer
            submit_resp = SubmitResponseInstance()
            submit_resp.resolve(read_frame(client.so))
            answers.append((submit_resp.seq_id, submit_resp.status, submit_resp.msg_id))
        seen["submits"] = answers
        client.send(ActiveTestRequestInstance().create())
        seen["active_test"] = command_id(read_frame(client.so))
        client.terminate()
        seen["terminate"] = command_id(read_frame(client.so))
        seen["closed"] = read_frame(client.so) == b""
        return seen
    finally:
        client.close()


async def test_pycmpp_logs_in_and_submits_short_and_long(cmpp2_ismg: SmscServer[Any]) -> None:
    pytest.importorskip("pycmpp", reason=_missing("pycmpp"))
    seen = await asyncio.to_thread(pycmpp_session, cmpp2_ismg.port, SECRET)

    assert (seen["status"], seen["version"]) == (0, 0x20)
    proof = hashlib.md5(b"\x00" + seen["authenticator_source"] + SECRET.encode()).digest()
    assert seen["authenticator_ismg"] == proof
    assert [status for _, status, _ in seen["submits"]] == [0, 0, 0, 0]
    ids = [str(msg_id) for _, _, msg_id in seen["submits"]]
    assert len(set(ids)) == 4
    received = [(m.source, m.destination, m.text, m.message_ids) for m in cmpp2_ismg.received]
    assert received == [
        ("", "13800138000", "您好，验证码 1234", (ids[0],)),
        ("", "13800138001", LONG_TEXT, tuple(ids[1:])),
    ]
    assert (seen["active_test"], seen["terminate"], seen["closed"]) == (
        ACTIVE_TEST_RESP,
        TERMINATE_RESP,
        True,
    )


async def test_pycmpp_with_the_wrong_secret_is_refused(cmpp2_ismg: SmscServer[Any]) -> None:
    pytest.importorskip("pycmpp", reason=_missing("pycmpp"))
    seen = await asyncio.to_thread(pycmpp_session, cmpp2_ismg.port, "guess")
    assert (seen["status"], seen["closed"]) == (3, True)
    assert cmpp2_ismg.counters.bind_failures == 1 and not cmpp2_ismg.received


# -- cmppy: CMPP 3.0 ----------------------------------------------------------------------------


def cmppy_login(port: int) -> tuple[int, bool]:
    """cmppy's own CONNECT, and whether the ISMG's answer proves the secret as cmppy would check it."""
    from cmppy.request import ConnectReq  # type: ignore[import-untyped]
    from cmppy.response import parse_response  # type: ignore[import-untyped]

    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        login = ConnectReq(SP_ID, SECRET)
        sock.sendall(login.message)
        answer = parse_response(read_frame(sock))
        expected = hashlib.md5(answer.raw_status + login.authenticator_source + SECRET.encode()).digest()
        return answer.status, answer.authenticator_ISMG == expected


def cmppy_submit(port: int, secret: str, text: str) -> Any:
    """cmppy's one-shot request: CONNECT, SUBMIT, TERMINATE; the SUBMIT_RESP, or None when refused."""
    from cmppy import Cmppy  # type: ignore[import-untyped]
    from cmppy.request import SubmitReq

    client = Cmppy("127.0.0.1", port, SP_ID, secret)
    submit = SubmitReq(SP_ID, text, src_id="106900010123", dest_terminal_id=["13800138000"])
    return client.request(submit)


async def test_cmppy_logs_in_with_a_digest_it_can_verify(cmpp3_ismg: SmscServer[Any]) -> None:
    pytest.importorskip("cmppy", reason=_missing("cmppy"))
    assert await asyncio.to_thread(cmppy_login, cmpp3_ismg.port) == (0, True)


async def test_cmppy_submits(cmpp3_ismg: SmscServer[Any]) -> None:
    pytest.importorskip("cmppy", reason=_missing("cmppy"))
    answer = await asyncio.to_thread(cmppy_submit, cmpp3_ismg.port, SECRET, "您的验证码是 654321")
    assert answer is not None and answer.result == 0
    [message] = cmpp3_ismg.received
    assert (message.source, message.destination, message.text) == (
        "106900010123",
        "13800138000",
        "您的验证码是 654321",
    )
    assert message.message_ids == (str(answer.msg_id),)


async def test_cmppy_with_the_wrong_secret_is_refused(cmpp3_ismg: SmscServer[Any]) -> None:
    pytest.importorskip("cmppy", reason=_missing("cmppy"))
    assert await asyncio.to_thread(cmppy_submit, cmpp3_ismg.port, "guess", "hi") is None
    assert cmpp3_ismg.counters.bind_failures == 1 and not cmpp3_ismg.received
