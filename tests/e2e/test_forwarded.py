"""Forwarded headers (X-Forwarded-For) are believed only from the proxies the operator lists in
`forwarded_allow_ips`: by default a client on loopback cannot pick the address that the customer's IP
allow-list (code 105) and the console's login throttle see."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import Platform, platform_env, running

# serial: a held login is told from a free one by how long it took (1.5 s), which load would blur.
pytestmark = [pytest.mark.e2e, pytest.mark.serial]

ALLOWED = "10.9.9.9"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _balance(platform: Platform, appkey: str, forwarded_for: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    answer = httpx.get(f"{platform.base}/sms/balance", params={"appkey": appkey}, headers=headers, timeout=30)
    return str(answer.json()["status"])


def _failed_login(console: httpx.Client, name: str, forwarded_for: str) -> float:
    """Seconds a failed login took to be answered (the throttle holds it while its address waits)."""
    page = console.get("/login")
    found = _CSRF.search(page.text)
    assert found, page.text
    began = time.monotonic()
    answer = console.post(
        "/login",
        data={"name": name, "password": "wrong", "csrf": found.group(1)},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert answer.status_code == 401, answer.text
    return time.monotonic() - began


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"], ids=["by-default", "from-a-listed-proxy"])
def test_forwarded_addresses_are_believed_only_from_listed_proxies(tmp_path: Path, trusted: str) -> None:
    env = platform_env(role="api,admin", forwarded_allow_ips=trusted)
    with running(Platform(data_dir=tmp_path, env=env)) as platform:
        appkey = platform.cli("customer", "create", "--name", "fwd", "--totalnum", "9", "--allow-ip", ALLOWED)
        # The request comes from 127.0.0.1, which the allow-list refuses, whatever a header claims...
        assert _balance(platform, appkey, None) == "105"
        # ...unless 127.0.0.1 is a listed proxy: then the address it forwarded is the caller's.
        assert _balance(platform, appkey, ALLOWED) == ("0" if trusted else "105")
        assert _balance(platform, appkey, f"10.1.1.1, {ALLOWED}") == ("0" if trusted else "105")

        admin_port = env["SMSPLATFORM_ADMIN_PORT"]
        with httpx.Client(base_url=f"http://127.0.0.1:{admin_port}", timeout=60) as console:
            # Three failures from one address: its next attempt waits 2 s (0.5 s, doubling).
            for attempt in range(3):
                _failed_login(console, f"nobody-{attempt}", "10.0.0.1")
            # Another address (and another name) waits only if it is the same address to the console.
            took = _failed_login(console, "nobody-else", "10.0.0.2")
        if trusted:
            assert took < 1.5, f"a forwarded address was held for another's failures ({took:.2f} s)"
        else:
            assert took >= 1.5, f"a forwarded address escaped the throttle of its real one ({took:.2f} s)"
