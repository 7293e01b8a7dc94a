"""The audit log: every change an operator made, from any face, filterable, newest first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import audit
from smsplatform.admin.actors import Actor
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of
from smsplatform.admin.console.views import view

PAGE_SIZE = 50


@view()
async def audit_page(request: Request, actor: Actor) -> Response:
    query = request.query_params
    filters = {
        "operator": forms.optional_text(query, "operator"),
        "action": forms.optional_text(query, "action"),
        "since": forms.optional_time(query, "since", label="from"),
        "until": forms.optional_time(query, "until", label="until"),
    }
    before_id = forms.optional_int(query, "before")
    entries = await console_of(request).read(
        audit.list_audit, actor, limit=PAGE_SIZE + 1, before_id=before_id, **filters
    )
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    older = {k: v for k, v in query.items() if k != "before" and v}
    if more:
        older["before"] = str(entries[-1].id)
    return console_of(request).render(
        request,
        "audit.html",
        {"entries": entries, "query": query, "older": older if more else None},
    )


def routes() -> list[BaseRoute]:
    return [Route("/audit", audit_page, methods=["GET"])]
