"""The address guard: which addresses callbacks may reach, and that connections go to checked addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

import httpcore
import pytest

from smsplatform.callbacks.guard import (
    AddressRefused,
    GuardedBackend,
    Resolver,
    checked_addresses,
    refusal,
    resolve,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services live here
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not global"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_refusal(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


def test_every_address_of_a_host_must_be_public() -> None:
    assert checked_addresses("ok.example", ["8.8.8.8", "2606:4700:4700::1111"]) == [
        "8.8.8.8",
        "2606:4700:4700::1111",
    ]
    with pytest.raises(AddressRefused, match=r"bad.example resolves to 10.0.0.1 \(private\)"):
        checked_addresses("bad.example", ["8.8.8.8", "10.0.0.1"])
    with pytest.raises(AddressRefused, match="no address"):
        checked_addresses("none.example", [])


class Recorder(httpcore.AsyncNetworkBackend):
    """Stands for the network: records where connections go, refuses the addresses in `down`."""

    def __init__(self, down: Iterable[str] = ()) -> None:
        self.calls: list[str] = []
        self.down = set(down)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.calls.append(f"{host}:{port}")
        if host in self.down:
            raise httpcore.ConnectError(f"{host} is down")
        return httpcore.AsyncNetworkStream()


def answers(*addresses: str, error: OSError | None = None) -> Resolver:
    async def resolver(host: str, port: int) -> list[str]:
        if error is not None:
            raise error
        return list(addresses)

    return resolver


async def test_connects_to_the_address_it_checked_not_the_name() -> None:
    network = Recorder(down={"93.184.216.34"})
    backend = GuardedBackend(
        allow_private=False, inner=network, resolver=answers("93.184.216.34", "2606:4700:4700::1111")
    )
    await backend.connect_tcp("hooks.example.com", 443)
    assert network.calls == ["93.184.216.34:443", "2606:4700:4700::1111:443"]


async def test_refuses_before_connecting() -> None:
    network = Recorder()
    backend = GuardedBackend(allow_private=False, inner=network, resolver=answers("8.8.8.8", "192.168.0.10"))
    with pytest.raises(AddressRefused, match=r"192\.168\.0\.10"):
        await backend.connect_tcp("hooks.example.com", 80)
    assert network.calls == []


async def test_a_name_that_does_not_resolve_is_a_connect_error() -> None:
    backend = GuardedBackend(
        allow_private=False, inner=Recorder(), resolver=answers(error=OSError("Name or service not known"))
    )
    with pytest.raises(httpcore.ConnectError, match=r"cannot resolve nowhere\.invalid"):
        await backend.connect_tcp("nowhere.invalid", 80)


async def test_allowed_private_passes_the_name_through() -> None:
    network = Recorder()
    backend = GuardedBackend(allow_private=True, inner=network)
    await backend.connect_tcp("localhost", 8080)
    assert network.calls == ["localhost:8080"]


async def test_unix_sockets_are_refused() -> None:
    with pytest.raises(AddressRefused):
        await GuardedBackend(allow_private=True, inner=Recorder()).connect_unix_socket("/run/docker.sock")


async def test_resolve_literal_and_local_names() -> None:
    assert await resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert "127.0.0.1" in await resolve("localhost", 80) or "::1" in await resolve("localhost", 80)
