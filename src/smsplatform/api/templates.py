"""Template endpoints: addtemplate, edittemplate, templatelist, templatedetail."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from smsplatform.api import codes
from smsplatform.api.accounts import owned_account, parse_account_id
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError
from smsplatform.api.numbers import ascii_int
from smsplatform.api.paging import page_of
from smsplatform.domain.canonical import canonical_text, has_control
from smsplatform.domain.templates import TemplateStatus, classify, review
from smsplatform.store import schema
from smsplatform.store import templates as repo
from smsplatform.store.accounts import Account, get_account
from smsplatform.store.errors import DuplicateTemplateName, NotFound
from smsplatform.store.templates import Template, TemplateDraft
from smsplatform.store.widths import width

MAX_NAME = width(schema.templates.c.name)
# Longer than any template review accepts (500), so that an over-long one is rejected with a reason
# rather than refused outright; beyond this it is not a template.
MAX_CONTENT = 2000


def _summary(t: Template) -> dict[str, Any]:
    return {
        "accountid": t.account_id,
        "name": t.name,
        "content": t.content,
        "templateid": t.id,
        "status": t.status,
        "ismarket": t.ismarket,
    }


def _detail(t: Template) -> dict[str, Any]:
    return {
        "templateid": t.id,
        "name": t.name,
        "content": t.content,
        "ismarket": t.ismarket,
        "status": t.status,
        "failreason": t.failreason,
        "addtime": t.addtime,
    }


def _draft(ctx: ApiContext, call: Call, current: Template | None = None) -> TemplateDraft:
    """The template submitted, reviewed. Its content is kept as written; a control character in it
    is 232 (line breaks excepted), and one with nothing visible is empty (222)."""
    params = call.params
    name = params["name"].strip() if "name" in params else (current.name if current else "")
    if has_control(name):
        raise ApiError(codes.INVALID_PARAMETER)
    if not name:
        raise ApiError(codes.TEMPLATE_NAME_EMPTY)
    content = params["content"].strip() if "content" in params else (current.content if current else "")
    if has_control(content, line_breaks=True):
        raise ApiError(codes.INVALID_PARAMETER)
    if not canonical_text(content).strip():
        raise ApiError(codes.TEMPLATE_CONTENT_EMPTY)
    if len(name) > MAX_NAME or len(content) > MAX_CONTENT:
        raise ApiError(codes.INVALID_PARAMETER)
    raw_market = params.get("ismarket", "").strip()
    if raw_market:
        if raw_market not in ("0", "1"):
            raise ApiError(codes.INVALID_PARAMETER)
        ismarket = int(raw_market)
    else:
        ismarket = current.ismarket if current else 0
    failreason = review(content, bool(ismarket), call.snapshot.words)
    if failreason is not None:
        status = TemplateStatus.REJECTED
    else:
        status = TemplateStatus.APPROVED if ctx.settings.auto_approve else TemplateStatus.PENDING
    return TemplateDraft(
        name=name,
        content=content,
        ismarket=ismarket,
        kind=classify(content, bool(ismarket)).value,
        status=status,
        failreason=failreason or "",
    )


async def addtemplate(ctx: ApiContext, call: Call) -> Any:
    account_id = parse_account_id(call)
    await owned_account(ctx, call, account_id)
    draft = _draft(ctx, call)
    try:
        template = await ctx.db.write(repo.create_template, account_id, draft)
    except DuplicateTemplateName as exc:
        raise ApiError(codes.TEMPLATE_NAME_TAKEN) from exc
    ctx.catalog.invalidate()
    return _summary(template)


async def _owned_template(ctx: ApiContext, call: Call, account_id: int | None = None) -> Template:
    template_id = ascii_int(call.params.get("templateid", ""))
    if template_id is None:
        raise ApiError(codes.TEMPLATE_UNKNOWN)
    try:
        return await ctx.db.read(
            repo.get_template, template_id, account_id=account_id, customer_id=call.customer_id
        )
    except NotFound as exc:
        raise ApiError(codes.TEMPLATE_UNKNOWN) from exc


async def edittemplate(ctx: ApiContext, call: Call) -> Any:
    account_id = parse_account_id(call)
    await owned_account(ctx, call, account_id)
    current = await _owned_template(ctx, call, account_id)
    draft = _draft(ctx, call, current)
    try:
        template = await ctx.db.write(repo.update_template, account_id, current.id, draft)
    except DuplicateTemplateName as exc:
        raise ApiError(codes.TEMPLATE_NAME_TAKEN) from exc
    except NotFound as exc:
        raise ApiError(codes.TEMPLATE_UNKNOWN) from exc
    ctx.catalog.invalidate()
    return _summary(template)


async def templatelist(ctx: ApiContext, call: Call) -> Any:
    account_id = parse_account_id(call)
    await owned_account(ctx, call, account_id)
    page = page_of(call.params)

    def fetch(conn: sa.Connection) -> tuple[Account, tuple[int, list[Template]]]:
        # Quota and the page in one snapshot: usednum moves with every send.
        listed = repo.list_templates(conn, account_id, offset=page.offset, limit=page.size)
        return get_account(conn, account_id), listed

    account, (total, templates) = await ctx.db.read(fetch)
    return {
        "total": total,
        "pagenum": page.number,
        "pagesize": page.size,
        "accountid": account.id,
        "totalnum": account.totalnum,
        "usednum": account.usednum,
        "list": [_detail(t) for t in templates],
    }


async def templatedetail(ctx: ApiContext, call: Call) -> Any:
    return _detail(await _owned_template(ctx, call))
