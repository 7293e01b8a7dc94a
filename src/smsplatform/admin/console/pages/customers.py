"""Customers (create — the appkey shown once —, top up, disable and enable, IP allow-list, daily limit,
expiry), their sub-accounts (enable, disable, template exemption, frequency-limit overrides) and
their templates."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from smsplatform.admin import accounts, customers, templates
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.console import forms
from smsplatform.admin.console.site import console_of, tr
from smsplatform.admin.console.views import Endpoint, done, posted_form, view
from smsplatform.domain.frequency import DEFAULT_LIMITS, format_limits
from smsplatform.domain.templates import TemplateKind

# Enough to read through on one page; a customer with more finds them by sub-account.
TEMPLATES_SHOWN = 200
# The kinds in the order the limits form lists them, with the platform's defaults.
KINDS = [
    (kind.value, format_limits(DEFAULT_LIMITS[kind]))
    for kind in (TemplateKind.VERIFICATION, TemplateKind.NOTIFICATION, TemplateKind.MARKETING)
]


@view()
async def customer_list(request: Request, actor: Actor) -> Response:
    found = await console_of(request).read(customers.list_customers, actor)
    return console_of(request).render(
        request, "customers.html", {"customers": found, "max_name": customers.MAX_NAME}
    )


@view(Permission.MANAGE)
async def create_customer(request: Request, actor: Actor) -> Response:
    form = await posted_form(request)
    created = await console_of(request).write(
        customers.create_customer,
        actor,
        forms.text(form, "name"),
        forms.required_int(form, "totalnum", label=tr(request, "customer.totalnum")),
        expires_at=forms.optional_time(form, "expires_at", label=tr(request, "customer.expires")),
        allow_ips=forms.words(forms.text(form, "allow_ips")),
        daily_request_limit=forms.optional_int(
            form, "daily_limit", label=tr(request, "customer.daily_limit")
        ),
    )
    # The appkey is shown on this answer only: it is not kept in the session or shown again.
    return console_of(request).render(request, "customer_created.html", {"created": created}, status=201)


@view(Permission.MANAGE)
async def rotate_appkey(request: Request, actor: Actor) -> Response:
    form = await posted_form(request)
    hours = forms.required_int(form, "grace_hours", label=tr(request, "customer.grace_hours"))
    rotated = await console_of(request).write(
        customers.rotate_appkey, actor, int(request.path_params["id"]), hours * 3600
    )
    # As on creation: the new appkey is on this answer only.
    return console_of(request).render(request, "customer_rotated.html", {"rotated": rotated})


@view()
async def customer_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    customer_id = int(request.path_params["id"])
    customer = await console.read(customers.get_customer, actor, customer_id)
    subs = await console.read(accounts.list_accounts, actor, customer_id=customer_id)
    owned = await console.read(
        templates.list_templates, actor, customer_id=customer_id, limit=TEMPLATES_SHOWN + 1
    )
    return console.render(
        request,
        "customer.html",
        {
            "customer": customer,
            "accounts": subs,
            "templates": owned[:TEMPLATES_SHOWN],
            "more_templates": len(owned) > TEMPLATES_SHOWN,
            "expires_input": forms.time_input(customer.expires_at),
        },
    )


def _customer_change(name: str) -> Endpoint:
    """POST /customers/{id}/<name>: one change of a customer, back to its page with a line saying so."""

    @view(Permission.MANAGE)
    async def change(request: Request, actor: Actor) -> Response:
        console = console_of(request)
        customer_id = int(request.path_params["id"])
        form = await posted_form(request)
        if name == "topup":
            amount = forms.required_int(form, "amount", label=tr(request, "customer.amount"))
            await console.write(customers.topup, actor, customer_id, amount)
        elif name in ("enable", "disable"):
            await console.write(customers.set_enabled, actor, customer_id, name == "enable")
        elif name == "allow-ips":
            networks = forms.words(forms.text(form, "allow_ips"))
            await console.write(customers.set_allow_ips, actor, customer_id, networks)
        elif name == "daily-limit":
            limit = forms.optional_int(form, "daily_limit", label=tr(request, "customer.daily_limit"))
            await console.write(customers.set_daily_limit, actor, customer_id, limit)
        elif name == "expiry":
            expires_at = forms.optional_time(form, "expires_at", label=tr(request, "customer.expires"))
            await console.write(customers.set_expiry, actor, customer_id, expires_at)
        return done(request, f"/customers/{customer_id}", tr(request, "common.saved"))

    change.__name__ = f"customer_{name.replace('-', '_')}"
    return change


@view()
async def account_page(request: Request, actor: Actor) -> Response:
    console = console_of(request)
    account_id = int(request.path_params["id"])
    account = await console.read(accounts.get_account, actor, account_id)
    owned = await console.read(templates.list_templates, actor, account_id=account_id, limit=TEMPLATES_SHOWN)
    return console.render(request, "account.html", {"account": account, "templates": owned, "kinds": KINDS})


def _account_change(name: str) -> Endpoint:
    @view(Permission.MANAGE)
    async def change(request: Request, actor: Actor) -> Response:
        console = console_of(request)
        account_id = int(request.path_params["id"])
        form = await posted_form(request)
        if name == "enable":
            await console.write(accounts.enable_account, actor, account_id)
        elif name == "disable":
            await console.write(accounts.disable_account, actor, account_id)
        elif name in ("exempt", "unexempt"):
            await console.write(accounts.set_template_exempt, actor, account_id, name == "exempt")
        elif name == "limits":
            kind = forms.text(form, "kind")
            limits = None if forms.checkbox(form, "reset") else forms.text(form, "limits")
            await console.write(accounts.set_frequency_limits, actor, account_id, kind, limits)
        back = forms.text(form, "back")
        target = back if back.startswith("/customers/") else f"/accounts/{account_id}"
        return done(request, target, tr(request, "common.saved"))

    change.__name__ = f"account_{name}"
    return change


def routes() -> list[BaseRoute]:
    return [
        Route("/customers", customer_list, methods=["GET"]),
        Route("/customers", create_customer, methods=["POST"]),
        Route("/customers/{id:int}", customer_page, methods=["GET"]),
        *[
            Route(f"/customers/{{id:int}}/{name}", _customer_change(name), methods=["POST"])
            for name in ("topup", "enable", "disable", "allow-ips", "daily-limit", "expiry")
        ],
        Route("/customers/{id:int}/rotate-key", rotate_appkey, methods=["POST"]),
        Route("/accounts/{id:int}", account_page, methods=["GET"]),
        *[
            Route(f"/accounts/{{id:int}}/{name}", _account_change(name), methods=["POST"])
            for name in ("enable", "disable", "exempt", "unexempt", "limits")
        ],
    ]
