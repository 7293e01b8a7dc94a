"""An in-process platform per test, and a customer's view of it.

`api` builds the real ASGI app (`build_platform`) over a fresh database (both backends) and talks to
it through httpx's ASGI transport; `Api.customer()` creates a customer the way the operator does, and
`Tenant` holds its appkey and shortcuts for the operator's approvals, so that every test reads as the
calls a customer makes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa

from smsplatform.app import Platform, build_platform
from smsplatform.config import Settings
from smsplatform.domain.templates import TemplateStatus, classify
from smsplatform.store import accounts as account_repo
from smsplatform.store import customers as customer_repo
from smsplatform.store import templates as template_repo
from smsplatform.store.accounts import Account, AccountStatus
from smsplatform.store.customers import Customer
from smsplatform.store.database import Database
from smsplatform.store.schema import messages, sends
from smsplatform.store.templates import Template, TemplateDraft
from tests.api.fast_databases import BACKENDS, fresh_database_url, fresh_sqlite_url

# No per-IP limit and no configuration cache by default: tests send many requests from one address,
# and the operator's changes they make must be seen at once. Tests of those features turn them on.
TEST_SETTINGS: dict[str, Any] = {
    "ip_limit_per_second": 0,
    "ip_limit_per_minute": 0,
    "config_poll_seconds": 0.0,
}

SIGNATURE = "【测试公司】"
NOTIFY = "您的订单@已发货，请注意查收"
VERIFY = "您的验证码是@，5分钟内有效"
MARKET = "新品上市，全场@折优惠，回TD退订"


class Api:
    """One platform and an HTTP client for it."""

    def __init__(self, platform: Platform, client: httpx.AsyncClient) -> None:
        self.platform = platform
        self.client = client

    @property
    def db(self) -> Database:
        return self.platform.db

    async def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """An operator's change, seen by the next request."""
        result = await self.db.write(fn, *args, **kwargs)
        self.platform.api.catalog.invalidate()
        return result

    async def read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.db.read(fn, *args, **kwargs)

    async def customer(self, totalnum: int = 100_000, **options: Any) -> Tenant:
        customer = await self.write(customer_repo.create_customer, "客户", totalnum, **options)
        return Tenant(self, customer)

    async def request(
        self, method: str, endpoint: str, params: Mapping[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.client.request(method, f"/sms/{endpoint}", params=params, **kwargs)

    async def call(
        self, endpoint: str, params: Mapping[str, str] | None = None, *, method: str = "GET"
    ) -> dict[str, Any]:
        """GET with a query string, or POST with a form body; the decoded envelope."""
        if method == "GET":
            response = await self.request("GET", endpoint, params)
        else:
            response = await self.request("POST", endpoint, data=dict(params or {}))
        return envelope(response)

    async def messages(self) -> list[dict[str, Any]]:
        def fetch(conn: sa.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(sa.select(messages).order_by(messages.c.id))
            return [dict(r._mapping) for r in rows]

        return list(await self.read(fetch))

    async def sends(self) -> list[dict[str, Any]]:
        def fetch(conn: sa.Connection) -> list[dict[str, Any]]:
            return [dict(r._mapping) for r in conn.execute(sa.select(sends).order_by(sends.c.id))]

        return list(await self.read(fetch))


@dataclasses.dataclass
class Tenant:
    """A customer: its appkey for calls, and the operator's shortcuts for its sub-accounts."""

    api: Api
    customer: Customer

    @property
    def appkey(self) -> str:
        return self.customer.appkey

    async def call(
        self, endpoint: str, params: Mapping[str, str] | None = None, *, method: str = "GET"
    ) -> dict[str, Any]:
        return await self.api.call(endpoint, {"appkey": self.appkey, **(params or {})}, method=method)

    async def send(self, mobile: str, content: str, **extra: str) -> dict[str, Any]:
        return await self.call("send", {"mobile": mobile, "content": content, **extra}, method="POST")

    async def account(
        self,
        signature: str = SIGNATURE,
        *,
        totalnum: int = 10_000,
        status: AccountStatus = AccountStatus.APPROVED,
        exempt: bool = False,
        company: str = "测试公司",
    ) -> Account:
        """A sub-account as the operator leaves it after review (one transaction: tests stay fast)."""
        fields = {"company": company, "signature": signature, "totalnum": totalnum}
        customer_id = self.customer.id

        def create(conn: sa.Connection) -> Account:
            account = account_repo.create_account(conn, customer_id, fields, approve=False)
            if status == AccountStatus.APPROVED:
                account = account_repo.review_account(conn, account.id, approve=True)
            elif status == AccountStatus.REJECTED:
                account = account_repo.review_account(conn, account.id, approve=False, reason="资质不全")
            elif status == AccountStatus.DISABLED:
                account = account_repo.disable_account(conn, account.id)
            if exempt:
                account = account_repo.set_template_exempt(conn, account.id)
            return account

        created: Account = await self.api.write(create)
        return created

    async def template(
        self,
        account: Account,
        content: str,
        *,
        ismarket: int = 0,
        status: TemplateStatus = TemplateStatus.APPROVED,
        name: str | None = None,
    ) -> Template:
        created: list[Template] = await self.api.write(
            _create_templates, account.id, [(content, ismarket, status, name)]
        )
        return created[0]

    async def shop(self, signature: str = SIGNATURE, totalnum: int = 10_000) -> Account:
        """An approved sub-account with approved notification, verification and marketing templates."""
        account = await self.account(signature, totalnum=totalnum)
        wanted = [(NOTIFY, 0, TemplateStatus.APPROVED, None), (VERIFY, 0, TemplateStatus.APPROVED, None)]
        wanted.append((MARKET, 1, TemplateStatus.APPROVED, None))
        await self.api.write(_create_templates, account.id, wanted)
        return account

    async def get_account(self, account_id: int) -> Account:
        result: Account = await self.api.read(account_repo.get_account, account_id)
        return result


def _create_templates(
    conn: sa.Connection, account_id: int, wanted: list[tuple[str, int, TemplateStatus, str | None]]
) -> list[Template]:
    """Templates as they are after the operator's review."""
    created = []
    for content, ismarket, status, name in wanted:
        draft = TemplateDraft(
            name=name or content[:20],
            content=content,
            ismarket=ismarket,
            kind=classify(content, bool(ismarket)).value,
            status=int(status),
            failreason="不符合规范" if status == TemplateStatus.REJECTED else "",
        )
        created.append(template_repo.create_template(conn, account_id, draft))
    return created


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The decoded answer, after checking what every API answer shares."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    data = orjson.loads(response.content)
    assert list(data) == ["status", "msg", "result"]
    return dict(data)


def ok(answer: dict[str, Any]) -> Any:
    """The result of a successful answer."""
    assert answer["status"] == "0", answer
    assert answer["msg"] == "ok"
    return answer["result"]


def error(answer: dict[str, Any]) -> int:
    """The code of an error answer (whose result is always empty)."""
    assert answer["status"] != "0", answer
    assert answer["result"] == ""
    return int(answer["status"])


def filled(template: str, value: str = "8") -> str:
    """A template's text with every `@` replaced, signed: what a customer sends."""
    return template.replace("@", value) + SIGNATURE


ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated SQLite database."""
    return fresh_sqlite_url(request)


@pytest.fixture(params=BACKENDS)
def api_database_url(request: pytest.FixtureRequest) -> str:
    """The database the platform runs on, empty and migrated, on both backends. Modules that test the
    wire, not the store, override it with `sqlite_url`."""
    return fresh_database_url(request)


@pytest.fixture
async def make_api(api_database_url: str) -> AsyncIterator[ApiFactory]:
    """Builds platforms over the test's database with extra settings; closes them afterwards."""
    opened: list[tuple[Platform, httpx.AsyncClient]] = []

    async def make(**settings: Any) -> Api:
        platform = build_platform(
            Settings(**{**TEST_SETTINGS, **settings}),
            db=Database.open(api_database_url, run_migrations=False),
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=platform.app), base_url="http://t")
        opened.append((platform, client))
        return Api(platform, client)

    yield make
    for platform, client in opened:
        await client.aclose()
        await platform.api.limits.close()
        platform.db.close()


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api()


@pytest.fixture
async def tenant(api: Api) -> Tenant:
    return await api.customer()


@pytest.fixture
async def shop(tenant: Tenant) -> Account:
    """The tenant's approved sub-account 【测试公司】 with its three approved templates."""
    return await tenant.shop()


@pytest.fixture
async def free(tenant: Tenant) -> Account:
    """The tenant's template-exempt sub-account 【测试公司】 without frequency limits: for properties
    that send many times to the same numbers."""
    account = await tenant.account(totalnum=100_000, exempt=True)
    unlimited = {"notification": "", "verification": "", "marketing": ""}
    result: Account = await tenant.api.write(account_repo.set_frequency_limits, account.id, unlimited)
    return result
