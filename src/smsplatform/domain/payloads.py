"""What the customer receives: the send answer, status reports and replies (SPEC §4.1, §7).

Every field is a string, as the wire conventions ask. The store calls these where it writes the
payloads down (with the messages, or in the callbacks outbox), so a replay or a retried callback sends
exactly what was first built.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

from smsplatform.domain.message_states import DELIVRD, FINAL_STATES


@functools.lru_cache(maxsize=4096)  # a batch of reports shares a few distinct seconds
def local_time(ts: int) -> str:
    """Callback times as Chinese SMS platforms render them: "YYYY-MM-DD HH:MM:SS", server local time."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def success_flag(state: str, stat: str) -> str:
    """ "1" for a delivered message, "0" for one that ended otherwise, "" while it has not ended."""
    if state not in FINAL_STATES:
        return ""
    return "1" if stat == DELIVRD else "0"


def status_report(
    message_id: int,
    send_id: int,
    account_id: int,
    mobile: str,
    segments: int,
    stat: str,
    errcode: str,
    submitted_at: int,
    done_at: int,
) -> dict[str, str]:
    """One message's status report (a long message gets one, however many segments it had)."""
    return {
        "msgid": str(send_id),
        "mobile": mobile,
        "accountid": str(account_id),
        "status": stat,
        "success": "1" if stat == DELIVRD else "0",
        "errcode": errcode,
        "submittime": local_time(submitted_at),
        "donetime": local_time(done_at),
        "segments": str(segments),
        "reportid": str(message_id),
    }


def reply(reply_id: int, account_id: int, mobile: str, content: str, received_at: int) -> dict[str, str]:
    """A subscriber's reply (MO) as the sub-account's replyurl receives it."""
    return {
        "replyid": str(reply_id),
        "accountid": str(account_id),
        "mobile": mobile,
        "content": content,
        "receivetime": local_time(received_at),
    }


def skipped_number(mobile: str, status: str, msg: str) -> dict[str, str]:
    """A number the send skipped, as its answer's `failed` list names it, with the code it would have
    answered alone."""
    return {"mobile": mobile, "status": status, "msg": msg}


def send_answer(
    account_id: int, send_id: int, count: int, fee: int, failed: Sequence[dict[str, str]]
) -> dict[str, Any]:
    """The result of an accepted send: `count` messages accepted, `fee` segments charged, and the
    skipped numbers when there were any."""
    answer: dict[str, Any] = {
        "count": str(count),
        "accountid": str(account_id),
        "msgid": str(send_id),
        "fee": str(fee),
    }
    if failed:
        answer["failed"] = list(failed)
    return answer
