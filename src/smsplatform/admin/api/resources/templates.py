"""/templates: customers' templates with their sub-account's signature, and their review."""

from __future__ import annotations

from smsplatform.admin import templates
from smsplatform.admin.actors import Permission
from smsplatform.admin.api.endpoint import Endpoint

_ID = {"template_id": "The template's id"}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/templates",
        templates.list_templates,
        params={
            "status": "Only templates in this status: pending, approved, rejected",
            "account_id": "Only this sub-account's",
            "customer_id": "Only this customer's",
            "offset": "Skip this many",
            "limit": "At most this many",
        },
    ),
    Endpoint("GET", "/templates/{template_id}", templates.get_template, "One template", params=_ID),
    Endpoint(
        "POST",
        "/templates/{template_id}/approve",
        templates.approve_template,
        "Approve a template: sends matching it go out",
        permission=Permission.REVIEW,
        params=_ID,
    ),
    Endpoint(
        "POST",
        "/templates/{template_id}/reject",
        templates.reject_template,
        permission=Permission.REVIEW,
        params={**_ID, "reason": "What the customer reads as failreason"},
    ),
]
