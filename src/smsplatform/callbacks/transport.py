"""An httpx transport whose connections go through the address guard.

httpx's own transport does not take a network backend, so this one drives an httpcore connection pool
built on `GuardedBackend` and turns httpcore's errors into httpx's. Connections are pooled per origin
(scheme, host name, port), so a kept-alive TLS connection is only reused for the host it was verified for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import AsyncIterator, Iterator

import httpcore
import httpx

from smsplatform.callbacks.guard import GuardedBackend, Resolver, resolve

# httpcore imports `sniffio` each time it sets up a lock or an event (several times a request) and, when
# it is not installed, falls back to asyncio. A failed import is not remembered, so each attempt
# searches the whole import path again: about 0.1 ms, and file-system calls, every time. Recording the
# module as absent makes the next attempts fail at once, the same way.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]


@contextlib.contextmanager
def _httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise httpx.TimeoutException(str(exc) or type(exc).__name__, request=request) from exc
    except httpcore.ConnectError as exc:
        raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise httpx.TransportError(str(exc) or type(exc).__name__, request=request) from exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: httpcore.Response, request: httpx.Request) -> None:
        self._response = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors(self._request):
            async for part in self._response.aiter_stream():
                yield part

    async def aclose(self) -> None:
        with _httpx_errors(self._request):
            await self._response.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        allow_private: bool,
        max_connections: int = 64,
        keepalive_expiry: float = 30.0,
        resolver: Resolver = resolve,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors(request):
            response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
