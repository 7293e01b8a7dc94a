"""/review: the queue of pending sub-accounts and templates with the automatic checks' findings, and
decisions on many of them in one call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import review
from smsplatform.admin.accounts import AccountInfo
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.api.endpoint import Endpoint
from smsplatform.admin.review import AccountReview, TemplateReview
from smsplatform.admin.templates import TemplateInfo


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    accounts: list[AccountReview]
    templates: list[TemplateReview]


@dataclass(frozen=True, slots=True)
class Decided:
    """The sub-accounts and templates as the decisions left them."""

    accounts: list[AccountInfo]
    templates: list[TemplateInfo]


def review_queue(conn: sa.Connection, actor: Actor) -> ReviewQueue:
    """Everything waiting for review, with what the automatic checks find in each."""
    return ReviewQueue(review.pending_accounts(conn, actor), review.pending_templates(conn, actor))


def decide(
    conn: sa.Connection,
    actor: Actor,
    approve_accounts: Sequence[int] = (),
    reject_accounts: Sequence[int] = (),
    approve_templates: Sequence[int] = (),
    reject_templates: Sequence[int] = (),
    reason: str = "",
) -> Decided:
    """Approve and reject many at once: all of the decisions are made, or (one refused) none."""
    actor.require(Permission.REVIEW)
    if not (approve_accounts or reject_accounts or approve_templates or reject_templates):
        raise ValueError("give at least one sub-account or template to approve or reject")
    accounts: list[AccountInfo] = []
    templates: list[TemplateInfo] = []
    if approve_accounts:
        accounts += review.approve_accounts(conn, actor, approve_accounts)
    if reject_accounts:
        accounts += review.reject_accounts(conn, actor, reject_accounts, reason)
    if approve_templates:
        templates += review.approve_templates(conn, actor, approve_templates)
    if reject_templates:
        templates += review.reject_templates(conn, actor, reject_templates, reason)
    return Decided(accounts, templates)


ENDPOINTS = [
    Endpoint("GET", "/review", review_queue),
    Endpoint(
        "POST",
        "/review",
        decide,
        permission=Permission.REVIEW,
        params={
            "approve_accounts": "Ids of sub-accounts to approve",
            "reject_accounts": "Ids of sub-accounts to reject",
            "approve_templates": "Ids of templates to approve",
            "reject_templates": "Ids of templates to reject",
            "reason": "Why, for the rejected ones (the customer reads it as failreason)",
        },
    ),
    Endpoint(
        "GET",
        "/review/accounts/{account_id}",
        review.check_account,
        "One sub-account, whatever its status, with the automatic checks' findings",
    ),
    Endpoint(
        "GET",
        "/review/templates/{template_id}",
        review.check_template,
        "One template, whatever its status, with the automatic checks' findings",
    ),
]
