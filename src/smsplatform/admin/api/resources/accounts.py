"""/accounts: customers' sub-accounts, their review, enabling and disabling, template exemption,
frequency-limit and maximum-age overrides."""

from __future__ import annotations

from smsplatform.admin import accounts
from smsplatform.admin.actors import Permission
from smsplatform.admin.api.endpoint import Endpoint, fixed

_ID = {"account_id": "The sub-account's id"}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/accounts",
        accounts.list_accounts,
        params={
            "status": "Only sub-accounts in this status: pending, approved, rejected, disabled",
            "customer_id": "Only this customer's",
            "offset": "Skip this many",
            "limit": "At most this many",
        },
    ),
    Endpoint("GET", "/accounts/{account_id}", accounts.get_account, "One sub-account", params=_ID),
    Endpoint(
        "POST",
        "/accounts/{account_id}/approve",
        accounts.approve_account,
        "Approve a sub-account: it can send",
        permission=Permission.REVIEW,
        params=_ID,
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/reject",
        accounts.reject_account,
        permission=Permission.REVIEW,
        params={**_ID, "reason": "What the customer reads as failreason"},
    ),
    Endpoint("POST", "/accounts/{account_id}/disable", accounts.disable_account, params=_ID),
    Endpoint("POST", "/accounts/{account_id}/enable", accounts.enable_account, params=_ID),
    Endpoint(
        "POST",
        "/accounts/{account_id}/exempt",
        accounts.set_template_exempt,
        params=_ID,
        supplied={"exempt": fixed(True)},
        name="accounts.exempt",
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/unexempt",
        accounts.set_template_exempt,
        "A sub-account's sends must match its approved templates again",
        params=_ID,
        supplied={"exempt": fixed(False)},
        name="accounts.unexempt",
    ),
    Endpoint(
        "PUT",
        "/accounts/{account_id}/limits",
        accounts.set_frequency_limits,
        params={
            **_ID,
            "kind": "verification, notification or marketing",
            "limits": "count/period pairs, e.g. 4/60,5/1h,8/d; null: back to the platform's defaults",
        },
    ),
    Endpoint(
        "PUT",
        "/accounts/{account_id}/max-age",
        accounts.set_max_age,
        params={
            **_ID,
            "kind": "verification, notification or marketing",
            "seconds": "how long a message of that kind may wait to be submitted; null: the platform's",
        },
    ),
]
