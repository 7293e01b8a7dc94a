"""Sub-account endpoints: balance, addaccount, editaccount, accountlist, and the word list."""

from __future__ import annotations

from typing import Any

from smsplatform.api import codes
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError
from smsplatform.api.numbers import ascii_int
from smsplatform.api.paging import page_of
from smsplatform.domain.canonical import has_control, remove_invisible
from smsplatform.domain.signatures import canonical_signature, is_valid_signature
from smsplatform.store import accounts as repo
from smsplatform.store import schema
from smsplatform.store.accounts import Account
from smsplatform.store.errors import NotFound, QuotaExceeded, SignatureTaken, TotalBelowUsed
from smsplatform.store.widths import width

# The most characters each text field takes: what its column keeps.
TEXT_LIMITS = {
    "company": width(schema.accounts.c.company),
    "statusurl": width(schema.accounts.c.statusurl),
    "replyurl": width(schema.accounts.c.replyurl),
    "replyusername": width(schema.accounts.c.replyusername),
    # The password is kept sealed (`replypassword_sealed`, ciphertext of any length), and its plain
    # column is empty: the limit is what customers have always been told, not a column's width.
    "replypassword": 100,
}


def account_fields(account: Account) -> dict[str, Any]:
    """The sub-account as addaccount and editaccount answer it (the seed's field order)."""
    return {
        "company": account.company,
        "signature": account.signature,
        "statusurl": account.statusurl,
        "replyurl": account.replyurl,
        "replyusername": account.replyusername,
        "replypassword": account.replypassword,
        "totalnum": account.totalnum,
        "accountid": account.id,
    }


def account_row(account: Account) -> dict[str, Any]:
    """The sub-account as accountlist lists it."""
    return {
        "accountid": account.id,
        "company": account.company,
        "signature": account.signature,
        "statusurl": account.statusurl,
        "replyurl": account.replyurl,
        "replyusername": account.replyusername,
        "replypassword": account.replypassword,
        "totalnum": account.totalnum,
        "usednum": account.usednum,
        "status": account.status,
        "istemnocheck": account.istemnocheck,
        "failreason": account.failreason,
        "addtime": account.addtime,
    }


def parse_account_id(call: Call) -> int:
    raw = call.params.get("accountid", "").strip()
    if not raw:
        raise ApiError(codes.ACCOUNT_EMPTY)
    account_id = ascii_int(raw)
    if account_id is None:
        raise ApiError(codes.ACCOUNT_UNKNOWN)
    return account_id


async def owned_account(ctx: ApiContext, call: Call, account_id: int) -> Account:
    """The caller's sub-account; another customer's answers exactly like a missing one.

    The cached view answers first; one it does not know yet (created through another API process
    within the poll interval) is looked up in the database, so a client may use its new sub-account
    at once, wherever its next call lands.
    """
    account = call.view.accounts.get(account_id)
    if account is not None:
        return account
    try:
        return await ctx.db.read(repo.get_account, account_id, customer_id=call.customer_id)
    except NotFound as exc:
        raise ApiError(codes.ACCOUNT_UNKNOWN) from exc


def _validated(call: Call, *, creating: bool) -> dict[str, object]:
    """The fields given, checked; a control character in any of them is 232.

    The company is stored without invisible characters, the signature in canonical form (what it
    is compared in: ``【甲公司\u200b】`` is ``【甲公司】``, taken or not). Whitespace inside the
    brackets is 212: a signature is not silently changed into another.
    """
    params = call.params
    fields: dict[str, object] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in params or creating:
            value = params.get(name, "").strip()
            if has_control(value):
                raise ApiError(codes.INVALID_PARAMETER)
            if name == "company":
                value = remove_invisible(value).strip()
            if len(value) > limit:
                raise ApiError(codes.INVALID_PARAMETER)
            fields[name] = value
    if "company" in fields and not fields["company"]:
        raise ApiError(codes.COMPANY_EMPTY)
    if "signature" in params or creating:
        written = params.get("signature", "").strip()
        if has_control(written):
            raise ApiError(codes.INVALID_PARAMETER)
        signature = canonical_signature(written)
        if not signature:
            raise ApiError(codes.SIGNATURE_EMPTY)
        if not is_valid_signature(signature):
            raise ApiError(codes.SIGNATURE_MALFORMED)
        fields["signature"] = signature
    if "totalnum" in params or creating:
        raw = params.get("totalnum", "").strip()
        totalnum = ascii_int(raw)
        if not raw or totalnum == 0:
            raise ApiError(codes.TOTALNUM_EMPTY)
        if totalnum is None:
            raise ApiError(codes.INVALID_PARAMETER)
        fields["totalnum"] = totalnum
    return fields


async def balance(ctx: ApiContext, call: Call) -> Any:
    # Quota moves with every send: read it fresh, not from the cached view.
    _, accounts = await ctx.db.read(repo.list_accounts, call.customer_id)
    return [
        {"accountid": a.id, "company": a.company, "totalnum": a.totalnum, "usednum": a.usednum}
        for a in accounts
    ]


async def blackword(ctx: ApiContext, call: Call) -> Any:
    return call.snapshot.words.words


async def addaccount(ctx: ApiContext, call: Call) -> Any:
    fields = _validated(call, creating=True)
    try:
        account = await ctx.db.write(
            repo.create_account, call.customer_id, fields, approve=ctx.settings.auto_approve
        )
    except SignatureTaken as exc:
        raise ApiError(codes.SIGNATURE_TAKEN) from exc
    except QuotaExceeded as exc:
        raise ApiError(codes.TOTALNUM_OVER_REMAINING) from exc
    ctx.catalog.invalidate()
    return account_fields(account)


async def editaccount(ctx: ApiContext, call: Call) -> Any:
    account_id = parse_account_id(call)
    await owned_account(ctx, call, account_id)
    fields = _validated(call, creating=False)
    try:
        account = await ctx.db.write(
            repo.update_account, call.customer_id, account_id, fields, approve=ctx.settings.auto_approve
        )
    except NotFound as exc:
        raise ApiError(codes.ACCOUNT_UNKNOWN) from exc
    except SignatureTaken as exc:
        raise ApiError(codes.SIGNATURE_TAKEN) from exc
    except (QuotaExceeded, TotalBelowUsed) as exc:
        raise ApiError(codes.TOTALNUM_OVER_REMAINING) from exc
    ctx.catalog.invalidate()
    return account_fields(account)


async def accountlist(ctx: ApiContext, call: Call) -> Any:
    page = page_of(call.params)
    total, accounts = await ctx.db.read(
        repo.list_accounts, call.customer_id, offset=page.offset, limit=page.size
    )
    return {
        "total": total,
        "pagenum": page.number,
        "pagesize": page.size,
        "list": [account_row(a) for a in accounts],
    }
