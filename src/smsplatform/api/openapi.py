"""The OpenAPI 3.1 description of the customer API, served at `/openapi.json`."""

from __future__ import annotations

from typing import Any

from smsplatform.api.codes import MESSAGES

_STR = {"type": "string"}
_INT_STR = {"type": "string", "pattern": "^[0-9]{1,12}$"}

# name → (summary, {parameter: (schema, description)})
_ENDPOINTS: dict[str, tuple[str, dict[str, tuple[dict[str, Any], str]]]] = {
    "send": (
        "Send SMS to one or many numbers",
        {
            "mobile": (_STR, "Numbers separated by `,`: up to 5,000 for marketing, 200 otherwise"),
            "content": (_STR, "Text carrying the signature 【…】; or one text per number separated by `,,`"),
            "requestid": ({"type": "string", "maxLength": 64}, "Idempotency key, kept 24 hours"),
        },
    ),
    "balance": ("Quota of every sub-account", {}),
    "blackword": ("The sensitive-word list", {}),
    "addaccount": (
        "Create a sub-account (reviewed before use)",
        {
            "company": (_STR, "Company name"),
            "signature": (_STR, "Signature 【2–12 characters】, unique on the platform"),
            "statusurl": (_STR, "Where status reports are POSTed"),
            "replyurl": (_STR, "Where replies are POSTed"),
            "replyusername": (_STR, "Basic auth user for replies"),
            "replypassword": (_STR, "Basic auth password for replies"),
            "totalnum": (_INT_STR, "Quota given to the sub-account"),
        },
    ),
    "editaccount": (
        "Change a sub-account; a new signature is reviewed again",
        {
            "accountid": (_INT_STR, "Sub-account id"),
            "company": (_STR, "Company name"),
            "signature": (_STR, "Signature 【2–12 characters】"),
            "statusurl": (_STR, "Where status reports are POSTed"),
            "replyurl": (_STR, "Where replies are POSTed"),
            "replyusername": (_STR, "Basic auth user for replies"),
            "replypassword": (_STR, "Basic auth password for replies"),
            "totalnum": (_INT_STR, "Quota, not below what was used"),
        },
    ),
    "accountlist": (
        "List sub-accounts",
        {"pagenum": (_INT_STR, "Page, from 1"), "pagesize": (_INT_STR, "Page size, 1–100, default 20")},
    ),
    "addtemplate": (
        "Add a template (`@` marks each variable)",
        {
            "accountid": (_INT_STR, "Sub-account id"),
            "name": (_STR, "Template name, unique within the sub-account"),
            "content": (_STR, "Template text; marketing ones end with 回TD退订"),
            "ismarket": ({"type": "string", "enum": ["0", "1"]}, "1 for marketing"),
        },
    ),
    "edittemplate": (
        "Change a template; it is reviewed again",
        {
            "accountid": (_INT_STR, "Sub-account id"),
            "templateid": (_INT_STR, "Template id"),
            "name": (_STR, "Template name"),
            "content": (_STR, "Template text"),
            "ismarket": ({"type": "string", "enum": ["0", "1"]}, "1 for marketing"),
        },
    ),
    "templatelist": (
        "List a sub-account's templates",
        {
            "accountid": (_INT_STR, "Sub-account id"),
            "pagenum": (_INT_STR, "Page, from 1"),
            "pagesize": (_INT_STR, "Page size, 1–100, default 20"),
        },
    ),
    "templatedetail": ("One template", {"templateid": (_INT_STR, "Template id")}),
    "status": (
        "Status reports of a send (by msgid) or of a number on a day",
        {
            "msgid": (_INT_STR, "The msgid send answered"),
            "mobile": (_STR, "An 11-digit number (with date)"),
            "date": ({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}, "YYYY-MM-DD"),
            "pagenum": (_INT_STR, "Page, from 1"),
            "pagesize": (_INT_STR, "Page size, 1–100, default 20"),
        },
    ),
    "reply": (
        "Replies (MO) received",
        {
            "accountid": (_INT_STR, "Sub-account id (optional)"),
            "mobile": (_STR, "Only replies from this number"),
            "date": ({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}, "YYYY-MM-DD"),
            "pagenum": (_INT_STR, "Page, from 1"),
            "pagesize": (_INT_STR, "Page size, 1–100, default 20"),
        },
    ),
}

_ENVELOPE = {
    "type": "object",
    "required": ["status", "msg", "result"],
    "properties": {
        "status": {
            "oneOf": [{"type": "string", "pattern": "^[0-9]+$"}, {"type": "integer"}],
            "description": "0 on success, else a code: "
            + "; ".join(f"{code} {msg}" for code, msg in sorted(MESSAGES.items())),
        },
        "msg": {"type": "string"},
        "result": {},
    },
}


def _operation(
    name: str, summary: str, params: dict[str, tuple[dict[str, Any], str]], method: str
) -> dict[str, Any]:
    fields = {"appkey": (_STR, "The customer's key"), **params}
    operation: dict[str, Any] = {
        "operationId": f"{name}_{method}",
        "summary": summary,
        "responses": {
            "200": {
                "description": "Always 200; the outcome is in `status`",
                "content": {"application/json": {"schema": _ENVELOPE}},
            }
        },
    }
    query = [
        {
            "name": "callback",
            "in": "query",
            "required": False,
            "description": "JSONP function name",
            "schema": {"type": "string", "pattern": "^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$"},
        }
    ]
    if method == "get":
        query += [
            {
                "name": field,
                "in": "query",
                "required": field == "appkey",
                "schema": schema,
                "description": text,
            }
            for field, (schema, text) in fields.items()
        ]
    else:
        body_schema = {
            "type": "object",
            "required": ["appkey"],
            "properties": {
                field: {**schema, "description": text} for field, (schema, text) in fields.items()
            },
        }
        operation["requestBody"] = {
            "required": True,
            "description": "A body value wins over the query's. A charset declared in Content-Type "
            "(utf-8, gbk, gb2312, gb18030) applies to body and query; undeclared text must be UTF-8 (239). "
            "Multipart parts are form fields: a file part is refused (242).",
            "content": {
                "application/x-www-form-urlencoded": {"schema": body_schema},
                "multipart/form-data": {"schema": body_schema},
                "application/json": {"schema": body_schema},
            },
        }
    operation["parameters"] = query
    operation["responses"]["200"]["content"]["application/javascript"] = {"schema": {"type": "string"}}
    return operation


def openapi_document(endpoints: list[str]) -> dict[str, Any]:
    paths = {
        f"/sms/{name}": {
            method: _operation(name, *_ENDPOINTS[name], method=method) for method in ("get", "post")
        }
        for name in endpoints
        if name in _ENDPOINTS
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsplatform customer API",
            "version": "1",
            "description": "binstd-compatible SMS API: every answer is HTTP 200 with "
            '`{"status", "msg", "result"}`; numbers in `result` are strings.',
        },
        "paths": paths,
    }
