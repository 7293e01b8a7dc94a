"""customer, account, template and review: the customers' side of the platform."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from smsplatform.admin import accounts, customers, review, templates
from smsplatform.admin.review import AccountReview, Finding, TemplateReview
from smsplatform.cli.arguments import cidr, grace, last_day, positive_int, text
from smsplatform.cli.commands import CliError, Registry
from smsplatform.cli.output import Shown, local_time, plain
from smsplatform.cli.runner import Operations
from smsplatform.domain.expiry import parse_seconds
from smsplatform.domain.templates import TemplateKind
from smsplatform.store.customers import DEFAULT_ROTATION_GRACE

CUSTOMER_COLUMNS = (
    "id",
    "name",
    "enabled",
    "totalnum",
    "allocated",
    "daily_request_limit",
    "allow_ips",
    "expires_at",
    "created_at",
)
ACCOUNT_COLUMNS = (
    "id",
    "customer_id",
    "customer_name",
    "company",
    "signature",
    "status",
    "totalnum",
    "usednum",
    "template_exempt",
    "failreason",
    "created_at",
)
TEMPLATE_COLUMNS = (
    "id",
    "account_id",
    "signature",
    "customer_name",
    "name",
    "kind",
    "status",
    "content",
    "failreason",
    "created_at",
)
FINDINGS = {
    review.SENSITIVE_WORD: "sensitive word",
    review.SIGNATURE_FORMAT: "malformed signature",
    review.TEMPLATE_RULE: "rule",
    review.ACCOUNT_NOT_APPROVED: "sub-account",
    review.CUSTOMER_DISABLED: "customer disabled",
    review.CUSTOMER_EXPIRED: "customer's appkey expired",
}


# --- customers -----------------------------------------------------------------------------------


def customer_create(args: argparse.Namespace, ops: Operations) -> Any:
    created = ops.write(
        customers.create_customer,
        args.name,
        args.totalnum,
        expires_at=args.expires,
        allow_ips=args.allow_ip or (),
        daily_request_limit=args.daily_limit,
    )
    if args.json:
        return created
    # The appkey alone on stdout (scripts read it); it is shown this once.
    return created.appkey


def customer_rotate_key(args: argparse.Namespace, ops: Operations) -> Any:
    rotated = ops.write(customers.rotate_appkey, args.id, args.grace)
    if args.json:
        return rotated
    # As at creation: the new appkey alone on stdout, shown this once; when the old one stops, on stderr.
    ends = rotated.customer.old_appkey_ends_at
    until = f"until {local_time(ends)}" if ends is not None else "no longer"
    print(f"the old appkey works {until}", file=sys.stderr)
    return rotated.appkey


def customer_list(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.read(customers.list_customers), CUSTOMER_COLUMNS)


def customer_show(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.read(customers.get_customer, args.id)


def customer_topup(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(customers.topup, args.id, args.amount)


def customer_disable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(customers.set_enabled, args.id, False)


def customer_enable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(customers.set_enabled, args.id, True)


def customer_allow_ip(args: argparse.Namespace, ops: Operations) -> Any:
    if bool(args.networks) == args.clear:
        raise CliError("give the allowed addresses (CIDR...) or --clear to allow any")
    return ops.write(customers.set_allow_ips, args.id, [] if args.clear else args.networks)


def customer_daily_limit(args: argparse.Namespace, ops: Operations) -> Any:
    if (args.limit is None) != args.clear:
        raise CliError("give the requests a day (N) or --clear for no limit")
    return ops.write(customers.set_daily_limit, args.id, None if args.clear else args.limit)


def customer_expires(args: argparse.Namespace, ops: Operations) -> Any:
    if (args.day is None) != args.clear:
        raise CliError("give the last day the appkey works (YYYY-MM-DD) or --clear: it never expires")
    return ops.write(customers.set_expiry, args.id, None if args.clear else args.day)


# --- sub-accounts --------------------------------------------------------------------------------


def account_list(args: argparse.Namespace, ops: Operations) -> Any:
    status = "pending" if args.pending else args.status
    found = ops.read(accounts.list_accounts, status=status, customer_id=args.customer)
    return Shown(found, ACCOUNT_COLUMNS)


def account_show(args: argparse.Namespace, ops: Operations) -> Any:
    return _account_review(ops.read(review.check_account, args.id), args.json)


def account_approve(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.write(review.approve_accounts, args.ids), ACCOUNT_COLUMNS)


def account_reject(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.write(review.reject_accounts, args.ids, args.reason), ACCOUNT_COLUMNS)


def account_enable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(accounts.enable_account, args.id)


def account_disable(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(accounts.disable_account, args.id)


def account_exempt(args: argparse.Namespace, ops: Operations) -> Any:
    return ops.write(accounts.set_template_exempt, args.id, not args.undo)


def account_limits(args: argparse.Namespace, ops: Operations) -> Any:
    if (args.limits is None) != args.reset:
        raise CliError("give --limits COUNT/SECONDS,... or --reset")
    return ops.write(accounts.set_frequency_limits, args.id, args.kind, None if args.reset else args.limits)


def account_max_age(args: argparse.Namespace, ops: Operations) -> Any:
    if (args.seconds is None) != args.reset:
        raise CliError("give --seconds N or --reset")
    return ops.write(accounts.set_max_age, args.id, args.kind, None if args.reset else args.seconds)


def seconds(value: str) -> int:
    """`600`, `10m`, `24h`, `1d`."""
    try:
        return parse_seconds(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# --- templates -----------------------------------------------------------------------------------


def template_list(args: argparse.Namespace, ops: Operations) -> Any:
    status = "pending" if args.pending else args.status
    found = ops.read(
        templates.list_templates, status=status, account_id=args.account, customer_id=args.customer
    )
    return Shown(found, TEMPLATE_COLUMNS)


def template_show(args: argparse.Namespace, ops: Operations) -> Any:
    return _template_review(ops.read(review.check_template, args.id), args.json)


def template_approve(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.write(review.approve_templates, args.ids), TEMPLATE_COLUMNS)


def template_reject(args: argparse.Namespace, ops: Operations) -> Any:
    return Shown(ops.write(review.reject_templates, args.ids, args.reason), TEMPLATE_COLUMNS)


# --- the review queue ----------------------------------------------------------------------------


def finding_text(finding: Finding) -> str:
    what = FINDINGS.get(finding.rule, finding.rule)
    if finding.rule == review.SENSITIVE_WORD:
        return f"{what} “{finding.detail}” in {finding.field}"
    if finding.rule == review.ACCOUNT_NOT_APPROVED:
        return f"{what} is {finding.detail}"
    return f"{what}: {finding.detail}" if finding.detail else what


def _findings(found: list[Finding]) -> str:
    return "; ".join(finding_text(f) for f in found) or "none"


def _account_review(checked: AccountReview, as_json: bool) -> Any:
    if as_json:
        return checked
    return Shown({**plain(checked.account), "findings": _findings(checked.findings)})


def _template_review(checked: TemplateReview, as_json: bool) -> Any:
    if as_json:
        return checked
    return Shown({**plain(checked.template), "findings": _findings(checked.findings)})


def review_list(args: argparse.Namespace, ops: Operations) -> Any:
    def queue(conn: Any, actor: Any) -> tuple[list[AccountReview], list[TemplateReview]]:
        return review.pending_accounts(conn, actor), review.pending_templates(conn, actor)

    pending_accounts, pending_templates = ops.read(queue)
    if args.json:
        return {"accounts": pending_accounts, "templates": pending_templates}
    account_rows = [
        {
            "id": r.account.id,
            "customer": f"{r.account.customer_name} ({r.account.customer_id})",
            "company": r.account.company,
            "signature": r.account.signature,
            "findings": _findings(r.findings),
        }
        for r in pending_accounts
    ]
    template_rows = [
        {
            "id": r.template.id,
            "account": f"{r.template.signature} ({r.template.account_id})",
            "customer": r.template.customer_name,
            "kind": r.template.kind,
            "content": r.template.content,
            "findings": _findings(r.findings),
        }
        for r in pending_templates
    ]
    return Shown(
        None,
        sections={
            "accounts": Shown(account_rows, title="Sub-accounts waiting for review:"),
            "templates": Shown(template_rows, title="Templates waiting for review:"),
        },
        note="\napprove: smsplatform account|template approve ID...   "
        "reject: smsplatform account|template reject ID... --reason TEXT",
    )


def register(registry: Registry) -> None:
    sub = registry.group("customer", "customers and their appkeys")
    p = registry.command(sub, "create", customer_create, "create a customer; prints its appkey (once)")
    p.add_argument("--name", required=True, type=text(customers.MAX_NAME))
    p.add_argument("--totalnum", type=positive_int, required=True, help="purchased quota (messages)")
    p.add_argument("--expires", type=last_day, help="last day the appkey works (YYYY-MM-DD)")
    p.add_argument("--allow-ip", type=cidr, action="append", help="allowed caller IP or CIDR (repeatable)")
    p.add_argument("--daily-limit", type=positive_int, help="API requests per day (code 104 beyond)")
    p = registry.command(
        sub,
        "rotate-key",
        customer_rotate_key,
        "issue a new appkey; prints it (once); the old one works a while",
    )
    p.add_argument("id", type=int)
    p.add_argument(
        "--grace",
        type=grace,
        default=DEFAULT_ROTATION_GRACE,
        metavar="SECONDS",
        help="how long the old appkey keeps working: 0 (stops now), 3600, 30m, 24h (default), 7d",
    )
    registry.command(sub, "list", customer_list, "list customers with the quota shared out to sub-accounts")
    registry.command(sub, "show", customer_show, "one customer").add_argument("id", type=int)
    p = registry.command(sub, "topup", customer_topup, "add purchased quota")
    p.add_argument("id", type=int)
    p.add_argument("amount", type=positive_int)
    registry.command(sub, "disable", customer_disable, "disable an appkey (code 103)").add_argument(
        "id", type=int
    )
    registry.command(sub, "enable", customer_enable, "enable an appkey again").add_argument("id", type=int)
    p = registry.command(
        sub, "allow-ip", customer_allow_ip, "the caller addresses the appkey works from (105)"
    )
    p.add_argument("id", type=int)
    p.add_argument("networks", nargs="*", type=cidr, metavar="CIDR")
    p.add_argument("--clear", action="store_true", help="allow any address")
    p = registry.command(sub, "daily-limit", customer_daily_limit, "API requests a day (code 104 beyond)")
    p.add_argument("id", type=int)
    p.add_argument("limit", nargs="?", type=positive_int, metavar="N")
    p.add_argument("--clear", action="store_true", help="no limit")
    p = registry.command(sub, "expires", customer_expires, "the last day the appkey works (code 102 after)")
    p.add_argument("id", type=int)
    p.add_argument("day", nargs="?", type=last_day, metavar="YYYY-MM-DD")
    p.add_argument("--clear", action="store_true", help="it never expires")

    sub = registry.group("account", "sub-accounts and their review")
    p = registry.command(sub, "list", account_list, "list sub-accounts")
    p.add_argument("--pending", action="store_true", help="only those waiting for review")
    p.add_argument("--status", choices=list(accounts.STATUS_NAMES.values()))
    p.add_argument("--customer", type=int, metavar="ID", help="only this customer's")
    registry.command(sub, "show", account_show, "one sub-account and what the checks find").add_argument(
        "id", type=int
    )
    p = registry.command(sub, "approve", account_approve, "approve sub-accounts (all or none)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p = registry.command(sub, "reject", account_reject, "reject sub-accounts (all or none)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--reason", required=True, type=text(accounts.MAX_REASON), help="what the customer reads")
    registry.command(sub, "enable", account_enable, "let a disabled sub-account send again").add_argument(
        "id", type=int
    )
    registry.command(sub, "disable", account_disable, "stop a sub-account sending (code 238)").add_argument(
        "id", type=int
    )
    p = registry.command(
        sub, "exempt", account_exempt, "let a sub-account send without templates (istemnocheck 1)"
    )
    p.add_argument("id", type=int)
    p.add_argument("--undo", action="store_true", help="require templates again")
    p = registry.command(sub, "limits", account_limits, "override frequency limits per number for one kind")
    p.add_argument("id", type=int)
    p.add_argument("--kind", required=True, choices=[k.value for k in TemplateKind])
    p.add_argument("--limits", help='e.g. "4/60,5/3600,8/86400" (count/seconds; 1m, 1h, d also work)')
    p.add_argument("--reset", action="store_true", help="back to the platform defaults")
    p = registry.command(
        sub, "max-age", account_max_age, "how long one kind may wait to be submitted before it expires"
    )
    p.add_argument("id", type=int)
    p.add_argument("--kind", required=True, choices=[k.value for k in TemplateKind])
    p.add_argument(
        "--seconds", type=seconds, help="e.g. 300 (10m, 24h, 1d also work); then it fails, refunded"
    )
    p.add_argument("--reset", action="store_true", help="back to the platform's (max_age_<kind> settings)")

    sub = registry.group("template", "templates and their review")
    p = registry.command(sub, "list", template_list, "list templates")
    p.add_argument("--pending", action="store_true", help="only those waiting for review")
    p.add_argument("--status", choices=list(templates.STATUS_NAMES.values()))
    p.add_argument("--account", type=int, metavar="ID", help="only this sub-account's")
    p.add_argument("--customer", type=int, metavar="ID", help="only this customer's")
    registry.command(sub, "show", template_show, "one template and what the checks find").add_argument(
        "id", type=int
    )
    p = registry.command(sub, "approve", template_approve, "approve templates (all or none)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p = registry.command(sub, "reject", template_reject, "reject templates (all or none)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--reason", required=True, type=text(templates.MAX_REASON), help="what the customer reads")

    sub = registry.group("review", "the review queue: pending sub-accounts and templates")
    registry.command(sub, "list", review_list, "what waits for review, with the automatic checks' findings")
