"""The review queue: pending sub-accounts and templates with what the automatic checks find in them,
approved or rejected one by one or many in one call.

The checks are the ones the customer API runs when a sub-account or template is submitted, re-run
against the current word list: a word added since then shows up here, before the operator approves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from smsplatform.admin import accounts as account_ops
from smsplatform.admin import checks
from smsplatform.admin import templates as template_ops
from smsplatform.admin.accounts import AccountInfo
from smsplatform.admin.actors import Actor, Permission
from smsplatform.admin.templates import TemplateInfo
from smsplatform.domain.canonical import INVISIBLE
from smsplatform.domain.signatures import is_valid_signature
from smsplatform.domain.templates import review
from smsplatform.domain.words import SensitiveWordFilter
from smsplatform.store import customers, words
from smsplatform.store.clock import now

# What a finding is about: faces translate these, `detail` says the particulars.
SENSITIVE_WORD = "sensitive_word"  # detail: the word
SIGNATURE_FORMAT = "signature_format"  # detail: the signature
TEMPLATE_RULE = "template_rule"  # detail: the rule the text breaks, as the customer would read it
ACCOUNT_NOT_APPROVED = "account_not_approved"  # detail: the sub-account's status
CUSTOMER_DISABLED = "customer_disabled"
CUSTOMER_EXPIRED = "customer_expired"

_NO_WORDS = SensitiveWordFilter(())


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    field: str  # where: company, signature, content, account, customer
    detail: str


@dataclass(frozen=True, slots=True)
class AccountReview:
    account: AccountInfo
    findings: list[Finding]


@dataclass(frozen=True, slots=True)
class TemplateReview:
    template: TemplateInfo
    findings: list[Finding]


def invisible_characters(text: str) -> list[str]:
    """The invisible characters ``text`` holds, each once, as ``U+200B``."""
    return [f"U+{ord(char):04X}" for char in dict.fromkeys(text) if ord(char) in INVISIBLE]


class _Checker:
    """The checks of one call: the word list read once, each sub-account and customer looked up once."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.words = SensitiveWordFilter(words.list_words(conn))
        self._accounts: dict[int, AccountInfo] = {}
        self._customers: dict[int, list[Finding]] = {}

    def customer(self, customer_id: int) -> list[Finding]:
        if customer_id not in self._customers:
            customer = customers.get_customer(self.conn, customer_id)
            found = []
            if not customer.enabled:
                found.append(Finding(CUSTOMER_DISABLED, "customer", customer.name))
            if customer.expires_at is not None and customer.expires_at < now():
                found.append(Finding(CUSTOMER_EXPIRED, "customer", customer.name))
            self._customers[customer_id] = found
        return self._customers[customer_id]

    def account(self, account: AccountInfo) -> list[Finding]:
        found = []
        if not is_valid_signature(account.signature):
            found.append(Finding(SIGNATURE_FORMAT, "signature", account.signature))
        for field, text in (("signature", account.signature), ("company", account.company)):
            found.extend(Finding(SENSITIVE_WORD, field, word) for word in self.words.find(text))
        return found + self.customer(account.customer_id)

    def template(self, template: TemplateInfo) -> list[Finding]:
        found = [Finding(SENSITIVE_WORD, "content", word) for word in self.words.find(template.content)]
        broken = review(template.content, template.kind == "marketing", _NO_WORDS)
        if broken is not None:
            found.append(Finding(TEMPLATE_RULE, "content", broken))
        hidden = invisible_characters(template.content)
        if hidden:
            # Matching ignores them, but a bidi control can make the text read otherwise than it is.
            found.append(Finding(TEMPLATE_RULE, "content", f"模板内容含不可见字符：{', '.join(hidden)}"))
        if template.account_id not in self._accounts:
            self._accounts[template.account_id] = account_ops.load(self.conn, template.account_id)
        account = self._accounts[template.account_id]
        if account.status != "approved":
            found.append(Finding(ACCOUNT_NOT_APPROVED, "account", account.status))
        return found + self.customer(account.customer_id)


def pending_accounts(conn: sa.Connection, actor: Actor) -> list[AccountReview]:
    actor.require(Permission.VIEW)
    checker = _Checker(conn)
    return [
        AccountReview(account, checker.account(account))
        for account in account_ops.list_accounts(conn, actor, status="pending")
    ]


def pending_templates(conn: sa.Connection, actor: Actor) -> list[TemplateReview]:
    actor.require(Permission.VIEW)
    checker = _Checker(conn)
    return [
        TemplateReview(template, checker.template(template))
        for template in template_ops.list_templates(conn, actor, status="pending")
    ]


def check_account(conn: sa.Connection, actor: Actor, account_id: int) -> AccountReview:
    """One sub-account, whatever its status, with the checks' findings."""
    actor.require(Permission.VIEW)
    account = account_ops.load(conn, account_id)
    return AccountReview(account, _Checker(conn).account(account))


def check_template(conn: sa.Connection, actor: Actor, template_id: int) -> TemplateReview:
    actor.require(Permission.VIEW)
    template = template_ops.load(conn, template_id)
    return TemplateReview(template, _Checker(conn).template(template))


# Bulk reviews run in the caller's one transaction: all of them are made, or (one refused) none.


def approve_accounts(conn: sa.Connection, actor: Actor, account_ids: Sequence[int]) -> list[AccountInfo]:
    actor.require(Permission.REVIEW)
    return [account_ops.approve_account(conn, actor, i) for i in checks.ids(account_ids)]


def reject_accounts(
    conn: sa.Connection, actor: Actor, account_ids: Sequence[int], reason: str
) -> list[AccountInfo]:
    actor.require(Permission.REVIEW)
    return [account_ops.reject_account(conn, actor, i, reason) for i in checks.ids(account_ids)]


def approve_templates(conn: sa.Connection, actor: Actor, template_ids: Sequence[int]) -> list[TemplateInfo]:
    actor.require(Permission.REVIEW)
    return [template_ops.approve_template(conn, actor, i) for i in checks.ids(template_ids)]


def reject_templates(
    conn: sa.Connection, actor: Actor, template_ids: Sequence[int], reason: str
) -> list[TemplateInfo]:
    actor.require(Permission.REVIEW)
    return [template_ops.reject_template(conn, actor, i, reason) for i in checks.ids(template_ids)]
