"""`/sms/send`: the rules of SPEC §4.1 in the order a customer expects to hear about them."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from smsplatform.api import codes
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError
from smsplatform.domain.canonical import canonical_text
from smsplatform.domain.frequency import Limit, limits_for, parse_limits
from smsplatform.domain.numbers import normalize_mobile
from smsplatform.domain.segments import count_chars, count_segments
from smsplatform.domain.signatures import SignatureError, Signed, take_signature
from smsplatform.domain.templates import OPT_OUT_TEXTS, TemplateKind, TemplateStatus, classify
from smsplatform.store.accounts import Account, AccountStatus
from smsplatform.store.catalog import CustomerView
from smsplatform.store.outbox import (
    Accepted,
    NewMessage,
    Refused,
    Replay,
    SendRequest,
    accept_sends,
    find_replay,
)

MAX_MARKETING_NUMBERS = 5000
MAX_OTHER_NUMBERS = 200
MAX_PER_NUMBER_CONTENTS = 200
MAX_CONTENT_CHARS = 600  # a 500-character template, its variables and the signature
MAX_REQUEST_ID = 64

_ACCOUNT_STATUS_ERRORS = {
    AccountStatus.PENDING: codes.ACCOUNT_PENDING,
    AccountStatus.REJECTED: codes.ACCOUNT_REJECTED,
    AccountStatus.DISABLED: codes.ACCOUNT_DISABLED,
}
_TEMPLATE_STATUS_ERRORS = {
    TemplateStatus.PENDING: codes.TEMPLATE_PENDING,
    TemplateStatus.REJECTED: codes.TEMPLATE_REJECTED,
}


@dataclass(frozen=True, slots=True)
class _Checked:
    """One distinct content after the signature, word and template checks."""

    content: str
    kind: str
    segments: int


def _split_mobiles(raw: str) -> list[str]:
    return [m for m in (part.strip() for part in raw.split(",")) if m]


_SIGNATURE_ERRORS = {
    SignatureError.MISSING: codes.SIGNATURE_EMPTY,
    SignatureError.MALFORMED: codes.SIGNATURE_MALFORMED,
    SignatureError.CONTROL: codes.INVALID_PARAMETER,
}


def _account_for(view: CustomerView, contents: list[str]) -> tuple[Account, dict[str, Signed]]:
    """The sub-account the signatures name (in canonical form), and each content's signature split.

    What is sent is each content as written but for invisible characters in and around its
    signature (``take_signature``): the rest of the text is the customer's, full-width commas and all.
    """
    signature: str | None = None
    texts: dict[str, Signed] = {}
    for content in dict.fromkeys(contents):
        signed = take_signature(content)
        if isinstance(signed, SignatureError):
            raise ApiError(_SIGNATURE_ERRORS[signed])
        if signature is not None and signed.signature != signature:
            raise ApiError(codes.SIGNATURE_MISMATCH)
        signature = signed.signature
        texts[content] = signed
    account = view.by_signature.get(signature or "")
    if account is None:
        raise ApiError(codes.SIGNATURE_UNKNOWN)
    status_error = _ACCOUNT_STATUS_ERRORS.get(AccountStatus(account.status))
    if status_error is not None:
        raise ApiError(status_error)
    return account, texts


def _check_content(call: Call, account: Account, signed: Signed) -> _Checked:
    content = signed.content
    # Rules read the text in canonical form (the template matcher too): nothing invisible counts.
    text = canonical_text(signed.text).strip()
    if count_chars(content) > MAX_CONTENT_CHARS:
        raise ApiError(codes.CONTENT_TOO_LONG)
    if not text:
        raise ApiError(codes.CONTENT_EMPTY)
    if call.snapshot.words.first(content) is not None:
        raise ApiError(codes.CONTENT_SENSITIVE)
    if account.istemnocheck:
        kind = classify(text, ismarket=any(t in text for t in OPT_OUT_TEXTS))
    else:
        match = call.view.matchers[account.id].match(text)
        if match is None:
            raise ApiError(codes.TEMPLATE_UNKNOWN)
        status_error = _TEMPLATE_STATUS_ERRORS.get(TemplateStatus(match.status))
        if status_error is not None:
            raise ApiError(status_error)
        kind = TemplateKind(call.view.template_kinds[match.template_id])
    return _Checked(content, kind, count_segments(content))


def _fingerprint(params: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in ("mobile", "content"):
        digest.update(params.get(name, "").encode())
        digest.update(b"\x00")
    return digest.hexdigest()


async def send(ctx: ApiContext, call: Call) -> Any:
    params = call.params
    raw_mobiles = _split_mobiles(params.get("mobile", ""))
    if not raw_mobiles:
        raise ApiError(codes.MOBILE_EMPTY)
    if len(raw_mobiles) > MAX_MARKETING_NUMBERS:
        raise ApiError(codes.TOO_MANY_MOBILES)
    raw_content = params.get("content", "")
    if not raw_content.strip():
        raise ApiError(codes.CONTENT_EMPTY)
    request_id = params.get("requestid", "").strip() or None
    if request_id is not None and len(request_id) > MAX_REQUEST_ID:
        raise ApiError(codes.INVALID_PARAMETER)

    contents = raw_content.split(",,") if ",," in raw_content else [raw_content]
    if len(contents) > 1:
        if len(contents) != len(raw_mobiles):
            raise ApiError(codes.CONTENT_COUNT_MISMATCH)
        if len(contents) > MAX_PER_NUMBER_CONTENTS:
            raise ApiError(codes.TOO_MANY_MOBILES)
    contents = [c.strip() for c in contents]
    if not all(contents):
        raise ApiError(codes.CONTENT_EMPTY)

    account, texts = _account_for(call.view, contents)
    checked = {content: _check_content(call, account, signed) for content, signed in texts.items()}
    if (
        any(c.kind != TemplateKind.MARKETING for c in checked.values())
        and len(raw_mobiles) > MAX_OTHER_NUMBERS
    ):
        raise ApiError(codes.TOO_MANY_MOBILES)

    fingerprint = _fingerprint(params)
    if request_id is not None:
        replay = await ctx.db.read(find_replay, call.customer_id, request_id, fingerprint, int(time.time()))
        if replay is not None:
            return _replayed(replay)

    failed: list[dict[str, str]] = []
    failed_at: list[int] = []
    batch: list[NewMessage] = []
    carriers = call.snapshot.carriers
    for index, raw in enumerate(raw_mobiles):
        item = checked[contents[index] if len(contents) > 1 else contents[0]]
        mobile = normalize_mobile(raw)
        if mobile is None:
            failed.append(_failure(raw, codes.MOBILE_INVALID))
            failed_at.append(index)
            continue
        carrier = carriers.carrier_of(mobile)
        batch.append(
            NewMessage(
                mobile, item.content, item.segments, item.kind, carrier.value if carrier else "unknown", index
            )
        )
    if not batch:
        raise ApiError(int(failed[0]["status"]))

    # The frequency limits are counted by the acceptance, from the stored messages (store/limits.py).
    overrides = {kind: parse_limits(spec) for kind, spec in account.freq_limits.items()}
    request = SendRequest(
        customer_id=call.customer_id,
        account_id=account.id,
        messages=batch,
        now=int(time.time()),
        request_id=request_id,
        fingerprint=fingerprint,
        failed=failed,
        opted_out_error=_OPTED_OUT_ERROR,
        failed_at=failed_at,
        limits=_limits_of(checked.values(), overrides),
        frequency_error=_FREQUENCY_ERROR,
    )
    outcome = await ctx.db.write_batched(accept_sends, request)
    if isinstance(outcome, Accepted):
        ctx.on_accepted()
        return outcome.result
    if isinstance(outcome, Replay):
        return _replayed(outcome)
    assert isinstance(outcome, Refused)
    if outcome.reason == "quota":
        raise ApiError(codes.BALANCE_LOW)
    raise ApiError(int(outcome.failed[0]["status"]))


def _replayed(replay: Replay) -> Any:
    if not replay.same_request:
        raise ApiError(codes.REQUEST_ID_REUSED)
    return replay.result


def _failure(mobile: str, code: int) -> dict[str, str]:
    return {"mobile": mobile, "status": str(code), "msg": codes.message_for(code)}


def _limits_of(
    checked: Iterable[_Checked], overrides: dict[str, tuple[Limit, ...]]
) -> dict[str, tuple[Limit, ...]]:
    """The frequency limits of the kinds sent; a kind without any (an empty override) is not counted."""
    kinds = {c.kind for c in checked}
    return {kind: limits for kind in kinds if (limits := limits_for(TemplateKind(kind), overrides))}


_OPTED_OUT_ERROR = (str(codes.OPTED_OUT), codes.message_for(codes.OPTED_OUT))
_FREQUENCY_ERROR = (str(codes.FREQUENCY_EXCEEDED), codes.message_for(codes.FREQUENCY_EXCEEDED))
