"""The system codes every endpoint answers before its own rules: 101–108."""

from __future__ import annotations

import asyncio
import time

import pytest

from smsplatform.api.guard import ip_allowed
from smsplatform.store import customers as customer_repo
from smsplatform.store import settings as switches
from smsplatform.store.accounts import Account
from tests.api.conftest import NOTIFY, Api, ApiFactory, Tenant, error, filled, ok
from tests.api.test_app import BARE_CALL_ANSWERS


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """The wire does not depend on the backend: SQLite only."""
    return sqlite_url


ENDPOINTS = sorted(BARE_CALL_ANSWERS)


async def test_missing_unknown_or_overlong_appkey_is_101(api: Api, tenant: Tenant) -> None:
    for endpoint in ENDPOINTS:
        assert error(await api.call(endpoint)) == 101
        assert error(await api.call(endpoint, {"appkey": ""}, method="POST")) == 101
        assert error(await api.call(endpoint, {"appkey": "   "})) == 101
        assert error(await api.call(endpoint, {"appkey": "0" * 32})) == 101
        assert error(await api.call(endpoint, {"appkey": tenant.appkey.upper()})) == 101
        assert error(await api.call(endpoint, {"appkey": tenant.appkey * 3})) == 101


async def test_appkey_with_surrounding_spaces_is_accepted(api: Api, tenant: Tenant) -> None:
    assert ok(await api.call("balance", {"appkey": f" {tenant.appkey} "})) == []


async def test_expired_appkey_is_102(api: Api) -> None:
    tenant = await api.customer(expires_at=int(time.time()) - 1)
    for endpoint in ENDPOINTS:
        assert error(await tenant.call(endpoint)) == 102


async def test_appkey_before_its_expiry_works(api: Api) -> None:
    tenant = await api.customer(expires_at=int(time.time()) + 3600)
    assert ok(await tenant.call("balance")) == []


async def test_disabled_appkey_is_103(api: Api, tenant: Tenant) -> None:
    await api.write(customer_repo.set_enabled, tenant.customer.id, False)
    for endpoint in ENDPOINTS:
        assert error(await tenant.call(endpoint)) == 103


async def test_enabled_again_works_again(api: Api, tenant: Tenant) -> None:
    await api.write(customer_repo.set_enabled, tenant.customer.id, False)
    assert error(await tenant.call("balance")) == 103
    await api.write(customer_repo.set_enabled, tenant.customer.id, True)
    assert ok(await tenant.call("balance")) == []


async def test_daily_request_quota_is_104_for_that_customer_only(api: Api) -> None:
    limited = await api.customer(daily_request_limit=3)
    other = await api.customer()
    for endpoint in ("balance", "blackword", "accountlist"):
        ok(await limited.call(endpoint))
    assert error(await limited.call("balance")) == 104
    assert error(await limited.call("send")) == 104
    assert ok(await other.call("balance")) == []


async def test_the_daily_quota_holds_across_a_restart(make_api: ApiFactory) -> None:
    first = await make_api()
    limited = await first.customer(daily_request_limit=3)
    for _ in range(3):
        ok(await limited.call("balance"))
    # A new process over the same database, as after SIGKILL: each call was counted before its answer.
    restarted = await make_api()
    again = Tenant(restarted, limited.customer)
    assert error(await again.call("balance")) == 104
    assert error(await again.call("send")) == 104


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        (("10.0.0.0/8",), 105),
        (("127.0.0.2/32", "192.168.1.0/24"), 105),
        (("127.0.0.0/8",), 0),
        (("127.0.0.1",), 0),
    ],
)
async def test_caller_ip_allow_list(api: Api, allow: tuple[str, ...], expected: int) -> None:
    tenant = await api.customer(allow_ips=allow)
    answer = await tenant.call("balance")
    assert int(answer["status"]) == expected


def test_ip_allowed_rules() -> None:
    assert ip_allowed("203.0.113.9", ())
    assert ip_allowed("203.0.113.9", ("203.0.113.0/24",))
    assert ip_allowed("2001:db8::1", ("2001:db8::/32",))
    assert not ip_allowed("203.0.114.1", ("203.0.113.0/24",))
    assert not ip_allowed("not-an-ip", ("0.0.0.0/0",))
    assert not ip_allowed("", ("0.0.0.0/0",))


async def test_per_ip_limit_on_send_is_106(make_api: ApiFactory) -> None:
    api = await make_api(ip_limit_per_minute=3)
    tenant = await api.customer()
    await tenant.shop()
    mobiles = ["13800138001", "13800138002", "13800138003"]
    for mobile in mobiles:
        ok(await tenant.send(mobile, filled(NOTIFY)))
    assert error(await tenant.send("13800138004", filled(NOTIFY))) == 106
    # Counted before the appkey is looked at: floods with bad keys are cut too.
    assert error(await api.call("send", {"appkey": "bad"})) == 106
    # Only send is limited.
    assert ok(await tenant.call("balance"))
    assert [m["mobile"] for m in await api.messages()] == mobiles


async def test_per_ip_minute_holds_across_a_restart(make_api: ApiFactory) -> None:
    first = await make_api(ip_limit_per_minute=3)
    tenant = await first.customer()
    for _ in range(3):
        assert error(await tenant.send("13800138001", filled(NOTIFY))) == 205  # counted all the same
    await first.platform.api.limits.close()  # what shutdown does; without it, within a second
    restarted = await make_api(ip_limit_per_minute=3)
    assert error(await restarted.call("send", {"appkey": tenant.appkey})) == 106


async def test_per_second_ip_limit(make_api: ApiFactory) -> None:
    api = await make_api(ip_limit_per_second=2, config_poll_seconds=60)
    tenant = await api.customer()
    await tenant.call("balance")  # configuration cached: the three sends below arrive within a second
    answers = await asyncio.gather(*(tenant.call("send") for _ in range(3)))
    assert sorted(a["status"] for a in answers) == ["106", "201", "201"]


async def test_maintenance_is_107_even_without_appkey(api: Api, tenant: Tenant) -> None:
    await api.write(switches.set_setting, switches.MAINTENANCE, "1")
    for endpoint in ENDPOINTS:
        assert error(await tenant.call(endpoint)) == 107
        assert error(await api.call(endpoint)) == 107
    await api.write(switches.set_setting, switches.MAINTENANCE, "0")
    for endpoint in ENDPOINTS:
        assert (await tenant.call(endpoint))["status"] == BARE_CALL_ANSWERS[endpoint]


async def test_disabled_endpoint_is_108_and_only_that_one(api: Api, tenant: Tenant, shop: Account) -> None:
    await api.write(switches.set_setting, switches.DISABLED_ENDPOINTS, "send,templatelist")
    assert error(await tenant.send("13800138000", filled(NOTIFY))) == 108
    assert error(await tenant.call("templatelist", {"accountid": str(shop.id)})) == 108
    assert ok(await tenant.call("balance"))
    assert await api.messages() == []
    await api.write(switches.set_setting, switches.DISABLED_ENDPOINTS, "")
    assert ok(await tenant.send("13800138000", filled(NOTIFY)))["count"] == "1"


async def test_configuration_cache_sees_operator_changes_within_the_poll_interval(
    make_api: ApiFactory,
) -> None:
    api = await make_api(config_poll_seconds=0.2)
    tenant = await api.customer()
    assert ok(await tenant.call("balance")) == []
    # Written straight to the database, as the CLI in another process does: no cache invalidation.
    await api.db.write(switches.set_setting, switches.MAINTENANCE, "1")
    changed = time.monotonic()
    while (await tenant.call("balance"))["status"] != "107":
        assert time.monotonic() - changed < 2, "maintenance not noticed within the poll interval"
