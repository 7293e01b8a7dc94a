"""Messages: search by msgid, number, customer, sub-account, carrier, connector, state and time, paged
newest first with keyset "older" links; a message's page with its whole story; a search as CSV."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from smsplatform.admin import customers, messages
from smsplatform.admin.actors import Actor
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import view
from smsplatform.domain.numbers import Carrier
from smsplatform.store.search import MESSAGE_STATES

PAGE_SIZE = 50
# Customers offered by name in the search form (the field takes any id).
CUSTOMERS_OFFERED = 1000
FILTERS = ("msgid", "mobile", "customer", "account", "carrier", "connector", "state", "since", "until")


def search_filters(request: Request, query: QueryParams) -> dict[str, Any]:
    """The search form's fields as the operations' keyword arguments (ValueError for bad ones)."""
    return {
        "msgid": forms.optional_int(query, "msgid", label="msgid"),
        "mobile": forms.optional_text(query, "mobile"),
        "customer_id": forms.optional_int(query, "customer", label=tr(request, "messages.customer")),
        "account_id": forms.optional_int(query, "account", label=tr(request, "messages.account")),
        "carrier": forms.optional_text(query, "carrier"),
        "connector": forms.optional_text(query, "connector"),
        "state": forms.optional_text(query, "state"),
        "since": forms.optional_time(query, "since", label=tr(request, "common.from")),
        "until": forms.optional_time(query, "until", label=tr(request, "common.until")),
    }


@view()
async def message_search(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    query = request.query_params
    filters = search_filters(request, query)
    page = await console.read(
        messages.search, actor, **filters, limit=PAGE_SIZE, before_id=forms.optional_int(query, "before")
    )
    kept = {name: query[name] for name in FILTERS if query.get(name, "").strip()}
    older = {**kept, "before": str(page.next_before_id)} if page.next_before_id is not None else None
    known = (await console.read(customers.list_customers, actor))[:CUSTOMERS_OFFERED]
    return console.render(
        request,
        "messages.html",
        {
            "page": page,
            "query": query,
            "kept": kept,
            "older": older,
            "paged": "before" in query,
            "customers": known,
            "carriers": [c.value for c in Carrier],
            "states": MESSAGE_STATES,
        },
    )


@view()
async def message_export(request: Request, actor: Actor) -> Response:
    """The search as CSV, streamed in chunks; a bad filter answers 400 before the download starts."""
    filters = search_filters(request, request.query_params)
    lines = messages.stream_csv(console_of(request).ctx.db, actor, **filters)
    first = await anext(lines)  # raises here, while an error page can still be sent

    async def body() -> AsyncIterator[str]:
        yield "\ufeff" + first  # the BOM tells spreadsheets the file is UTF-8 (Chinese text)
        async for line in lines:
            yield line

    name = time.strftime("messages-%Y%m%d-%H%M%S.csv")
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@view()
async def message_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    detail = await console.read(messages.show, actor, int(request.path_params["id"]))
    return console.render(request, "message.html", {"msg": detail})


def routes() -> list[BaseRoute]:
    return [
        Route("/messages", message_search, methods=["GET"]),
        Route("/messages.csv", message_export, methods=["GET"]),
        Route("/messages/{id:int}", message_page, methods=["GET"]),
    ]
