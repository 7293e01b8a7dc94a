"""`pagenum` and `pagesize` on the list endpoints: defaults 1 and 20, at most 100, anything else 232."""

from __future__ import annotations

import pytest

from smsplatform.api.envelope import ApiError
from smsplatform.api.paging import Page, page_of
from smsplatform.store.accounts import Account
from tests.api.conftest import Tenant, error, ok

BAD = ["0", "-1", "101", "abc", "1.5", "1e3", "99999999999999999999", "１", "0x10", "2 0", "+5"]


@pytest.fixture
def api_database_url(sqlite_url: str) -> str:
    """Paging rules are the API's, not the store's: SQLite only."""
    return sqlite_url


async def test_bad_page_parameters_are_232(tenant: Tenant, shop: Account) -> None:
    for endpoint, extra in (("accountlist", {}), ("templatelist", {"accountid": str(shop.id)})):
        for value in BAD:
            for name in ("pagesize", "pagenum"):
                if name == "pagenum" and value == "101":
                    continue  # a page number may be large
                answer = await tenant.call(endpoint, {**extra, name: value})
                assert error(answer) == 232, (endpoint, name, value)


async def test_defaults_and_blank_values(tenant: Tenant, shop: Account) -> None:
    for params in ({}, {"pagenum": "", "pagesize": ""}, {"pagenum": " 1 ", "pagesize": " 20 "}):
        result = ok(await tenant.call("accountlist", params))
        assert (result["pagenum"], result["pagesize"]) == ("1", "20"), params


async def test_a_far_page_is_empty_not_an_error(tenant: Tenant, shop: Account) -> None:
    result = ok(await tenant.call("accountlist", {"pagenum": "1000000", "pagesize": "100"}))
    assert (result["total"], result["list"]) == ("1", [])
    assert error(await tenant.call("accountlist", {"pagenum": "1000001"})) == 232


def test_page_offsets() -> None:
    assert page_of({}) == Page(1, 20)
    assert page_of({"pagenum": "3", "pagesize": "7"}).offset == 14
    with pytest.raises(ApiError):
        page_of({"pagesize": "0"})
