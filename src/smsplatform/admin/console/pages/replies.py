"""Replies (MO) from subscribers and the opt-out lists they made, searchable, newest first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import replies
from smsplatform.admin.actors import Actor
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import view

PAGE_SIZE = 50
REPLY_FILTERS = ("mobile", "customer", "account", "text", "since", "until")
OPTOUT_FILTERS = ("mobile", "customer", "account")


def _kept(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    query = request.query_params
    return {name: query[name] for name in names if query.get(name, "").strip()}


@view()
async def replies_page(request: Request, actor: Actor) -> Response:
    query = request.query_params
    page = await console_of(request).read(
        replies.search_replies,
        actor,
        mobile=forms.optional_text(query, "mobile"),
        customer_id=forms.optional_int(query, "customer", label=tr(request, "messages.customer")),
        account_id=forms.optional_int(query, "account", label=tr(request, "messages.account")),
        text=forms.optional_text(query, "text"),
        since=forms.optional_time(query, "since", label=tr(request, "common.from")),
        until=forms.optional_time(query, "until", label=tr(request, "common.until")),
        limit=PAGE_SIZE,
        before_id=forms.optional_int(query, "before"),
    )
    kept = _kept(request, REPLY_FILTERS)
    older = {**kept, "before": str(page.next_before_id)} if page.next_before_id is not None else None
    return console_of(request).render(
        request, "replies.html", {"page": page, "query": query, "kept": kept, "older": older}
    )


@view()
async def optouts_page(request: Request, actor: Actor) -> Response:
    query = request.query_params
    page = await console_of(request).read(
        replies.search_optouts,
        actor,
        mobile=forms.optional_text(query, "mobile"),
        customer_id=forms.optional_int(query, "customer", label=tr(request, "messages.customer")),
        account_id=forms.optional_int(query, "account", label=tr(request, "messages.account")),
        limit=PAGE_SIZE,
        before=forms.optional_text(query, "before"),
    )
    kept = _kept(request, OPTOUT_FILTERS)
    older = {**kept, "before": page.next_before} if page.next_before is not None else None
    return console_of(request).render(
        request, "optouts.html", {"page": page, "query": query, "kept": kept, "older": older}
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/replies", replies_page, methods=["GET"]),
        Route("/replies/optouts", optouts_page, methods=["GET"]),
    ]
