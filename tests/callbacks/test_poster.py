"""One POST: what counts as acknowledged, what the failure says, and the URLs refused outright."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from smsplatform.callbacks.batches import Batch
from smsplatform.callbacks.poster import Failure, Poster, url_problem
from smsplatform.callbacks.signing import sign
from smsplatform.callbacks.transport import GuardedTransport
from smsplatform.store.callbacks import REPORT, DueCallback
from tests.callbacks.receiver import Received, Receiver


@pytest.fixture
async def poster() -> AsyncIterator[Poster]:
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=True)) as client:
        yield Poster(client, total_timeout=2.0)


def batch(url: str) -> Batch:
    item = DueCallback(1, 7, REPORT, json.dumps({"reportid": "1"}), 1, 0, url, "", "", "the-appkey")
    return Batch.starting_with(item)


def test_signature_is_hmac_sha256_of_the_body_keyed_by_the_appkey() -> None:
    body = '[{"msgid":"1","content":"你好"}]'.encode()
    assert sign("k3y", body) == hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert sign("k3y", body) != sign("k3y", body + b" ")
    assert sign("k3y", body) != sign("other", body)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.com/sms?x=1", None),
        ("http://203.0.113.9:8080/cb", None),
        ("ftp://hooks.example.com/", "scheme 'ftp' refused: only http and https"),
        ("javascript:alert(1)", "scheme 'javascript' refused: only http and https"),
        ("hooks.example.com/cb", "scheme '(none)' refused: only http and https"),
        ("http:///path-only", "invalid URL: no host"),
    ],
)
def test_url_problem(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_acknowledges(poster: Poster, receiver: Receiver, status: int) -> None:
    async def answer(_: Received) -> int:
        return status

    receiver.answer = answer
    assert await poster.post(batch(receiver.url("/cb"))) is None
    [request] = receiver.requests
    assert request.headers["x-signature"] == sign("the-appkey", request.body)
    assert request.headers["user-agent"] == "smsplatform-callbacks"


@pytest.mark.parametrize("status", [301, 302, 400, 404, 500, 503])
async def test_anything_else_fails_and_redirects_are_not_followed(
    poster: Poster, receiver: Receiver, status: int
) -> None:
    async def answer(_: Received) -> int:
        return status

    receiver.answer = answer
    assert await poster.post(batch(receiver.url("/cb"))) == Failure(f"HTTP {status}", unreachable=False)
    assert len(receiver.requests) == 1


async def test_a_closed_port_fails_with_the_reason(poster: Poster) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failure = await poster.post(batch(f"http://127.0.0.1:{port}/cb"))
    assert failure == Failure("connection refused", unreachable=True)


async def test_a_host_that_does_not_resolve_says_so(poster: Poster) -> None:
    failure = await poster.post(batch("http://no-such-host.invalid/cb"))
    assert failure is not None and failure.unreachable
    assert failure.reason.startswith("cannot resolve the host: ")


async def test_the_private_address_refusal_is_reported(receiver: Receiver) -> None:
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=False)) as client:
        failure = await Poster(client, total_timeout=2.0).post(batch(receiver.url("/cb")))
    assert failure is not None and failure.unreachable and "127.0.0.1 (loopback)" in failure.reason
    assert receiver.requests == []
