"""`/sms/status` and `/sms/reply`: the status reports and replies, for customers without callback URLs."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from smsplatform.api import codes
from smsplatform.api.accounts import owned_account
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError
from smsplatform.api.numbers import ascii_int
from smsplatform.api.paging import page_of
from smsplatform.domain.numbers import normalize_mobile
from smsplatform.domain.payloads import success_flag
from smsplatform.store.clock import format_time
from smsplatform.store.queries import message_statuses, replies
from smsplatform.store.retention import kept_since


def _day(raw: str) -> tuple[int, int]:
    """The unix-second bounds of a `YYYY-MM-DD` day in server local time."""
    try:
        day = dt.date.fromisoformat(raw.strip())
        start = int(time.mktime(day.timetuple()))
        return start, int(time.mktime((day + dt.timedelta(days=1)).timetuple()))
    except (ValueError, OverflowError) as exc:  # not a date, or one past the calendar's ends
        raise ApiError(codes.INVALID_PARAMETER) from exc


def _mobile(raw: str) -> str:
    mobile = normalize_mobile(raw)
    if mobile is None:
        raise ApiError(codes.MOBILE_INVALID)
    return mobile


async def status(ctx: ApiContext, call: Call) -> Any:
    params = call.params
    page = page_of(params)
    query: dict[str, Any] = {}
    if params.get("msgid", "").strip():
        send_id = ascii_int(params["msgid"])
        if send_id is None:
            raise ApiError(codes.INVALID_PARAMETER)
        query["send_id"] = send_id
    elif params.get("mobile", "").strip():
        query["mobile"] = _mobile(params["mobile"])
        query["since"], query["until"] = _day(params.get("date") or time.strftime("%Y-%m-%d"))
    else:
        raise ApiError(codes.INVALID_PARAMETER, "msgid或mobile参数为空")
    # Messages older than the retention answer as unknown ones, whether or not they are removed yet.
    query["kept_since"] = kept_since(ctx.settings.retention_days, int(time.time()))
    total, rows = await ctx.db.read(
        message_statuses, call.customer_id, offset=page.offset, limit=page.size, **query
    )
    return {
        "total": total,
        "pagenum": page.number,
        "pagesize": page.size,
        "list": [
            {
                "msgid": m.send_id,
                "mobile": m.mobile,
                "accountid": m.account_id,
                "state": m.state,
                "status": m.stat,
                "success": success_flag(m.state, m.stat),
                "errcode": m.errcode,
                "submittime": format_time(m.submitted_at),
                "donetime": format_time(m.done_at),
                "segments": m.segments,
                "reportid": m.id,
            }
            for m in rows
        ],
    }


async def reply(ctx: ApiContext, call: Call) -> Any:
    params = call.params
    page = page_of(params)
    query: dict[str, Any] = {}
    if params.get("accountid", "").strip():
        account_id = ascii_int(params["accountid"])
        if account_id is None:
            raise ApiError(codes.ACCOUNT_UNKNOWN)
        query["account_id"] = (await owned_account(ctx, call, account_id)).id
    if params.get("mobile", "").strip():
        query["mobile"] = _mobile(params["mobile"])
    if params.get("date", "").strip():
        query["since"], query["until"] = _day(params["date"])
    query["kept_since"] = kept_since(ctx.settings.retention_days, int(time.time()))
    total, rows = await ctx.db.read(replies, call.customer_id, offset=page.offset, limit=page.size, **query)
    return {
        "total": total,
        "pagenum": page.number,
        "pagesize": page.size,
        "list": [
            {
                "replyid": r.id,
                "accountid": r.account_id or "",
                "mobile": r.mobile,
                "content": r.content,
                "receivetime": format_time(r.received_at),
            }
            for r in rows
        ],
    }
