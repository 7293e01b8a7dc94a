"""Review: pending sub-accounts and templates with the automatic checks' findings; approve, or reject
with a reason, one by one (in place, with htmx) or many at once with checkboxes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import review
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, is_htmx, tr
from smsplatform.admin.console.views import done, posted_form, view
from smsplatform.store.errors import NotFound

SUBJECTS = ("accounts", "templates")


@view()
async def review_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    pending_accounts = await console.read(review.pending_accounts, actor)
    pending_templates = await console.read(review.pending_templates, actor)
    return console.render(
        request, "review.html", {"accounts": pending_accounts, "templates": pending_templates}
    )


async def _decide(request: Request, actor: Actor, subject: str, ids: list[int], approve: bool) -> int:
    if subject not in SUBJECTS:
        raise NotFound(f"no {subject} to review")
    console = console_of(request)
    reason = forms.text(await posted_form(request), "reason")
    if not approve and not reason:
        raise ValueError(tr(request, "review.reason_needed"))
    if subject == "accounts":
        if approve:
            return len(await console.write(review.approve_accounts, actor, ids))
        return len(await console.write(review.reject_accounts, actor, ids, reason))
    if approve:
        return len(await console.write(review.approve_templates, actor, ids))
    return len(await console.write(review.reject_templates, actor, ids, reason))


@view(Permission.REVIEW)
async def decide_one(request: Request, actor: Actor) -> Response:
    """One sub-account or template: with htmx, its row is redrawn in place."""
    subject, item = request.path_params["subject"], int(request.path_params["id"])
    decision = request.path_params["decision"]
    if decision not in ("approve", "reject"):
        raise NotFound(f"no decision {decision}")
    approve = decision == "approve"
    await _decide(request, actor, subject, [item], approve)
    if is_htmx(request):
        console = console_of(request)
        row = f"partials/review_{subject}_row.html"
        if subject == "accounts":
            account = await console.read(review.check_account, actor, item)
            return console.render(request, row, {"item": account, "decided": True})
        template = await console.read(review.check_template, actor, item)
        return console.render(request, row, {"item": template, "decided": True})
    key = "review.approved" if approve else "review.rejected"
    return done(request, "/review", tr(request, key, count=1))


@view(Permission.REVIEW)
async def decide_many(request: Request, actor: Actor) -> Response:
    subject = request.path_params["subject"]
    form = await posted_form(request)
    ids = forms.ids(form, "id")
    if not ids:
        raise ValueError(tr(request, "review.none_ticked"))
    approve = forms.text(form, "decision") == "approve"
    count = await _decide(request, actor, subject, ids, approve)
    key = "review.approved" if approve else "review.rejected"
    return done(request, "/review", tr(request, key, count=count))


def routes() -> list[BaseRoute]:
    subjects = "{subject:str}"
    return [
        Route("/review", review_page, methods=["GET"]),
        Route(f"/review/{subjects}/bulk", decide_many, methods=["POST"]),
        Route(f"/review/{subjects}/{{id:int}}/{{decision:str}}", decide_one, methods=["POST"]),
    ]
