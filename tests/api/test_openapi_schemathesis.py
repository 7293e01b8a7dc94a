"""Property tests from the served OpenAPI document: whatever a client sends, never a 5xx.

Schemathesis generates requests for every operation of `/openapi.json`; a valid appkey (and, half the
time, the customer's real accountid and templateid) is put into each so that the calls get past the
guard and exercise the handlers. Every answer must be HTTP 200 with the envelope, or a 404.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks as builtin_checks
from schemathesis.specs.openapi import checks as openapi_checks
from starlette.types import Receive, Scope, Send

from smsplatform.app import build_platform
from smsplatform.config import Settings
from smsplatform.store import accounts, customers, templates
from smsplatform.store.database import Database
from smsplatform.store.templates import TemplateDraft


@dataclass(frozen=True)
class Fixture:
    appkey: str
    account_id: str
    template_id: str


class WithoutBackground:
    """The customer API without the lifespan's background roles: the generated calls are the subject."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _document_server() -> WithoutBackground:
    # Serving the document touches no database: one that is never connected to will do.
    db = Database.open(f"sqlite:///{tempfile.gettempdir()}/never-opened.db", run_migrations=False)
    return WithoutBackground(build_platform(Settings(), db=db).app)


schema = schemathesis.openapi.from_asgi("/openapi.json", _document_server())
# The coverage phase's boundary values (empty, missing, longest) are what the hand-written tests of every
# endpoint go through; leaving it out halves the run time. Examples and fuzzing stay.
schema.config.phases.coverage.enabled = False


@pytest.fixture(scope="module")
def platform_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WithoutBackground, Fixture]]:
    """The platform the generated calls go to, with a customer whose ids they may use."""
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'smsplatform.db'}")
    with db.engine.begin() as conn:
        customer = customers.create_customer(conn, "客户", 1_000_000)
        fields = {"company": "测试公司", "signature": "【测试公司】", "totalnum": 500_000}
        account = accounts.create_account(conn, customer.id, fields, approve=True)
        template = templates.create_template(
            conn, account.id, TemplateDraft("通知", "您的订单@已发货", 0, "notification", 1, "")
        )
    settings = Settings(ip_limit_per_second=0, ip_limit_per_minute=0, config_poll_seconds=0.0)
    app = WithoutBackground(build_platform(settings, db=db).app)
    yield app, Fixture(customer.appkey, str(account.id), str(template.id))
    db.close()


def _inject(values: dict[str, Any] | None, known: Fixture) -> None:
    if not isinstance(values, dict):
        return
    values["appkey"] = known.appkey
    # Real ids half of the time (decided by the generated value, so examples stay reproducible).
    for name, real in (("accountid", known.account_id), ("templateid", known.template_id)):
        if name in values and len(str(values[name])) % 2 == 0:
            values[name] = real


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_generated_call_gets_an_envelope(
    case: Any, platform_data: tuple[WithoutBackground, Fixture]
) -> None:
    app, known = platform_data
    if case.method.upper() == "GET":
        if case.query is None:
            case.query = {}
        _inject(case.query, known)
    else:
        _inject(case.body, known)
        if not isinstance(case.body, dict):
            case.query = {**(case.query or {}), "appkey": known.appkey}
    response = case.call(app=app)
    case.validate_response(
        response,
        checks=[builtin_checks.not_a_server_error, openapi_checks.response_schema_conformance],
    )
    assert response.status_code in (200, 404), response.text
    if response.status_code == 404:
        return
    body = response.content
    callback = (case.query or {}).get("callback")
    content_type = response.headers["content-type"][0]
    if content_type.startswith("application/javascript"):
        assert callback and body.startswith(callback.encode() + b"(") and body.endswith(b");")
        body = body[len(callback) + 1 : -2]
    else:
        assert content_type == "application/json; charset=utf-8"
    answer = orjson.loads(body)
    assert list(answer) == ["status", "msg", "result"]
    assert answer["status"] != "220", (case.method, case.path, case.query, case.body, answer)
    if answer["status"] != "0":
        assert answer["result"] == ""
