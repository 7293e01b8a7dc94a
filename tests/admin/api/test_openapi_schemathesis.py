"""Property tests from the management API's own OpenAPI document: whatever an operator's script sends,
never a 5xx, and every answer as the document describes it.

Schemathesis generates requests for every operation of `/admin/api/openapi.json`, valid ones and
(negative mode) ones the schema forbids, which must be refused with a 4xx. Each call carries a token
made for it (a generated `DELETE /tokens/{id}` may revoke any earlier one), an admin's most of the time
and a reviewer's otherwise, and, half of the time, the id of a real customer, sub-account, template,
message or connector in its path, so that calls get past "not found" into the operations.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis import checks as builtin_checks
from schemathesis.specs.openapi import checks as openapi_checks

from smsplatform.admin import auth
from smsplatform.admin.actors import Role
from smsplatform.store import accounts, customers, templates
from smsplatform.store.database import Database
from smsplatform.store.templates import TemplateDraft
from tests.admin.api.conftest import PASSWORD, ROOT, admin_app
from tests.store.test_search import add_message

# Serving the document touches no database: one that is never connected to will do.
_DOCUMENT_DB = Database.open(f"sqlite:///{tempfile.gettempdir()}/never-opened.db", run_migrations=False)
schema = schemathesis.openapi.from_asgi("/admin/api/openapi.json", admin_app(_DOCUMENT_DB))
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# The coverage phase's boundary values are what the hand-written tests go through; examples and
# fuzzing stay.
schema.config.phases.coverage.enabled = False


@dataclass
class Platform:
    app: Any
    db: Database
    ids: dict[str, str]  # path parameter → a real value

    def token(self, role: str) -> str:
        with self.db.engine.begin() as conn:
            return auth.create_token(conn, ROOT, role, "schemathesis")[1]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('mgmt-openapi') / 'smsplatform.db'}")
    with db.engine.begin() as conn:
        auth.create_operator(conn, ROOT, "admin", Role.ADMIN, PASSWORD)
        auth.create_operator(conn, ROOT, "reviewer", Role.REVIEWER, PASSWORD)
        customer = customers.create_customer(conn, "客户", 1_000_000)
        fields = {"company": "测试公司", "signature": "【测试公司】", "totalnum": 500_000}
        account = accounts.create_account(conn, customer.id, fields, approve=False)
        template = templates.create_template(
            conn, account.id, TemplateDraft("通知", "您的订单@已发货", 0, "notification", 0, "")
        )
        message = add_message(conn, account_id=account.id, content="【测试公司】您的订单1已发货")
    ids = {
        "customer_id": str(customer.id),
        "account_id": str(account.id),
        "template_id": str(template.id),
        "message_id": str(message),
        "name": "sim-cmpp",
        "carrier": "mobile",
        "endpoint": "send",
    }
    yield Platform(admin_app(db), db, ids)
    db.close()


def _inject(case: Any, known: Platform) -> None:
    # Assigned whole (not changed in place), so that schemathesis checks again whether a negative case
    # is still negative.
    path = dict(case.path_parameters or {})
    for name, real in known.ids.items():
        # Real values half of the time, decided by the generated one so that examples stay reproducible.
        if name in path and len(str(path[name])) % 2 == 0:
            path[name] = real
    if path:
        case.path_parameters = path
    role = "reviewer" if len(case.path) % 5 == 0 else "admin"
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {known.token(role)}"}


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_generated_call_is_answered_as_described(case: Any, platform: Platform) -> None:
    _inject(case, platform)
    response = case.call(app=platform.app)
    if "\n" in unquote(urlsplit(str(response.request.url)).path):
        # Starlette's Mount does not match a path with a line break: the listener answers, not the API.
        assert response.status_code == 404
        return
    case.validate_response(
        response,
        checks=[
            builtin_checks.not_a_server_error,
            openapi_checks.status_code_conformance,
            openapi_checks.content_type_conformance,
            openapi_checks.response_schema_conformance,
            openapi_checks.negative_data_rejection,
        ],
    )
    assert response.status_code < 500, response.text
