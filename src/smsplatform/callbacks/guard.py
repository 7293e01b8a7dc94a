"""The address guard: customers choose the URLs we POST to, so they must not reach our own network.

A URL is refused when its scheme is not http(s), or when its host resolves to any address that is not
public (private, loopback, link-local, multicast, reserved, unspecified, shared, and IPv4 addresses
hidden in IPv6 forms). The check happens where the connection is made, on the addresses the connection
then uses: resolving again after the check would let a host that answers differently the second time
(DNS rebinding) slip through. TLS is still verified against the URL's host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):
    """The URL's host is not one we may connect to; the message says why."""


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be connected to, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    # Most specific first: the private registry of `ipaddress` also lists loopback, link-local and more.
    for flag in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(address, f"is_{flag}"):
            return flag.replace("_", "-")
    if not address.is_global:  # e.g. 100.64.0.0/10, shared with a carrier's NAT
        return "not global"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order of preference."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone id is not part of the address
        if address not in found:
            found.append(address)
    return found


def checked_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """`addresses` if every one of them is public; otherwise raises AddressRefused naming the first."""
    found = list(addresses)
    if not found:
        raise AddressRefused(f"{host} resolves to no address")
    for text in found:
        reason = refusal(ipaddress.ip_address(text))
        if reason is not None:
            raise AddressRefused(f"{host} resolves to {text} ({reason}), which callbacks may not reach")
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, then connects to a checked address."""

    def __init__(
        self,
        *,
        allow_private: bool,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._allow_private = allow_private
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolve = resolver

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - the signature is httpcore's
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._allow_private:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        *others, final = checked_addresses(host, addresses)
        for address in others:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue  # the host's next address may answer
        return await self._inner.connect_tcp(final, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - the signature is httpcore's
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("callbacks never connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
