"""Callbacks: the outbox of status reports and replies owed to customers, the receivers that are
failing (host, last answer, backlog), and retry now."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import receivers
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import done, posted_form, view


@view()
async def callbacks_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    backlog = await console.read(receivers.backlog, actor)
    failing = await console.read(receivers.failing, actor)
    return console.render(request, "callbacks.html", {"backlog": backlog, "failing": failing})


@view(Permission.MANAGE)
async def retry_now(request: Request, actor: Actor) -> Response:
    """Waiting callbacks due now: one sub-account's, one host's, or every receiver's."""
    form = await posted_form(request)
    account_id = forms.optional_int(form, "account", label=tr(request, "messages.account"))
    host = forms.optional_text(form, "host")
    moved = await console_of(request).write(receivers.retry_now, actor, account_id=account_id, host=host)
    return done(request, "/callbacks", tr(request, "callbacks.retried", count=moved))


def routes() -> list[BaseRoute]:
    return [
        Route("/callbacks", callbacks_page, methods=["GET"]),
        Route("/callbacks/retry", retry_now, methods=["POST"]),
    ]
