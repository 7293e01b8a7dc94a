"""One POST of one batch, and the verdict: acknowledged, or why not.

Headers: `Content-Type: application/json; charset=utf-8`, the signatures (see `signing`), and for replies
HTTP Basic credentials when the sub-account set a reply user name. Only a 2xx answer acknowledges;
redirects are not followed (a 3xx is a failure like any other). The whole attempt, connecting included,
is bounded by `total_timeout`, and only the first `MAX_ANSWER_BYTES` of an answer are read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass

import httpx

from smsplatform.callbacks.batches import Batch
from smsplatform.callbacks.guard import ALLOWED_SCHEMES, AddressRefused
from smsplatform.callbacks.signing import signature_headers
from smsplatform.store.callbacks import REPLY

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "smsplatform-callbacks"


def url_problem(url: str) -> str | None:
    """Why `url` cannot be posted to whatever it resolves to, or None."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"invalid URL: {exc}"
    if parsed.scheme not in ALLOWED_SCHEMES:
        return f"scheme {parsed.scheme or '(none)'!r} refused: only http and https"
    if not parsed.host:
        return "invalid URL: no host"
    return None


def connect_problem(exc: BaseException) -> str:
    """Why a connection could not be made, as an operator reads it ("connection refused"): the
    connection pool's own message ("All connection attempts failed") hides the system's reason."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host: {cause.strerror}"
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__ or cause.__context__
    return f"cannot connect: {exc}"


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # for `last_error`
    # No answer came at all (no URL, refused address, no connection, timeout): whatever else is queued
    # for the URL would fail the same way, so it is failed without being sent.
    unreachable: bool


class Poster:
    def __init__(self, client: httpx.AsyncClient, *, total_timeout: float) -> None:
        self._client = client
        self._total_timeout = total_timeout

    async def post(self, batch: Batch) -> Failure | None:
        """None when the receiver acknowledged the batch; otherwise why not."""
        if not batch.url:
            return Failure(
                f"the sub-account has no {'replyurl' if batch.kind == REPLY else 'statusurl'}", True
            )
        problem = url_problem(batch.url)
        if problem is not None:
            return Failure(problem, True)
        body = batch.body()
        headers = {
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json; charset=utf-8",
            **signature_headers(batch.appkey, batch.previous_appkey, body),
        }
        auth = None
        if batch.kind == REPLY and batch.username:
            auth = httpx.BasicAuth(batch.username, batch.password)
        try:
            async with asyncio.timeout(self._total_timeout):
                status = await self._send(batch.url, body, headers, auth)
        except TimeoutError:
            return Failure(f"no answer within {self._total_timeout:g} s", True)
        except httpx.TimeoutException as exc:
            return Failure(f"timed out: {exc}", True)
        except AddressRefused as exc:
            return Failure(str(exc), True)
        except httpx.ConnectError as exc:
            return Failure(connect_problem(exc), True)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Failure(f"{type(exc).__name__}: {exc}", True)
        except httpx.HTTPError as exc:  # the connection broke mid-way: this batch's failure
            return Failure(f"{type(exc).__name__}: {exc}", False)
        except Exception as exc:  # a bug must cost one attempt, never the worker
            log.exception("posting to %s failed", batch.url)
            return Failure(f"{type(exc).__name__}: {exc}", False)
        if 200 <= status < 300:
            return None
        return Failure(f"HTTP {status}", False)

    async def _send(
        self, url: str, body: bytes, headers: dict[str, str], auth: httpx.BasicAuth | None
    ) -> int:
        request = self._client.build_request("POST", url, content=body, headers=headers)
        response = await self._client.send(request, auth=auth, stream=True, follow_redirects=False)
        try:
            read = 0
            async for part in response.aiter_raw():
                read += len(part)
                if read >= MAX_ANSWER_BYTES:
                    break
        finally:
            await response.aclose()
        return response.status_code
