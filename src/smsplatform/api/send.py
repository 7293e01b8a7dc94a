"""`/sms/send`: the rules of SPEC §4.1 and §5 in the order a customer expects to hear about them.

`send` reads as those rules, one step each: the numbers and contents as written, the signature that
names the sub-account, each content's length, sensitive words and template, the cap on numbers of
its kind, an earlier answer to the same request id, each number's normal form and carrier, then the
acceptance (opt-outs, frequency limits and the quota, in one transaction) and its answer. Scaled out,
the frequency limits and the request id are decided in Redis just before the acceptance.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsplatform.api import codes
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError
from smsplatform.cluster.limits import SharedFrequency
from smsplatform.cluster.shared import SharedUnavailable
from smsplatform.domain.canonical import canonical_text
from smsplatform.domain.frequency import Limit, limits_for, parse_limits
from smsplatform.domain.numbers import CarrierTable, normalize_mobile
from smsplatform.domain.payloads import skipped_number
from smsplatform.domain.segments import count_chars, count_segments
from smsplatform.domain.signatures import SignatureError, Signed, take_signature
from smsplatform.domain.templates import OPT_OUT_TEXTS, TemplateKind, TemplateStatus, classify
from smsplatform.store.accounts import Account, AccountStatus
from smsplatform.store.catalog import CustomerView
from smsplatform.store.outbox import (
    Accepted,
    NewMessage,
    Replay,
    SendOutcome,
    SendRequest,
    accept_sends,
    find_replay,
)

MAX_MARKETING_NUMBERS = 5000
MAX_OTHER_NUMBERS = 200
MAX_PER_NUMBER_CONTENTS = 200
MAX_CONTENT_CHARS = 600  # a 500-character template, its variables and the signature
MAX_REQUEST_ID = 64
# Scaled out, how long a send waits for another node's answer to the same request id, and how often
# it looks: an acceptance takes milliseconds, so the wait ends long before this unless that node died.
CLAIM_WAIT = 5.0
CLAIM_POLL = 0.02

_ACCOUNT_STATUS_ERRORS = {
    AccountStatus.PENDING: codes.ACCOUNT_PENDING,
    AccountStatus.REJECTED: codes.ACCOUNT_REJECTED,
    AccountStatus.DISABLED: codes.ACCOUNT_DISABLED,
}
_TEMPLATE_STATUS_ERRORS: dict[int, int] = {  # found by the matched status, an int
    TemplateStatus.PENDING: codes.TEMPLATE_PENDING,
    TemplateStatus.REJECTED: codes.TEMPLATE_REJECTED,
}
# A stored kind's member, found without going through the enum's constructor on every send.
_KINDS: dict[str, TemplateKind] = {kind.value: kind for kind in TemplateKind}
_SIGNATURE_ERRORS = {
    SignatureError.MISSING: codes.SIGNATURE_EMPTY,
    SignatureError.MALFORMED: codes.SIGNATURE_MALFORMED,
    SignatureError.CONTROL: codes.INVALID_PARAMETER,
}


@dataclass(frozen=True, slots=True)
class _Written:
    """The request as the customer wrote it: numbers, contents (one, or one per number), request id."""

    mobiles: list[str]
    contents: list[str]
    request_id: str | None


@dataclass(frozen=True, slots=True)
class _Checked:
    """One distinct content after the signature, word and template checks."""

    content: str
    kind: str
    segments: int


@dataclass(frozen=True, slots=True)
class _Numbers:
    """The messages of the valid numbers, and the invalid ones skipped with where they stood."""

    messages: list[NewMessage]
    skipped: list[dict[str, str]]
    skipped_at: list[int]


async def send(ctx: ApiContext, call: Call) -> Any:
    written = _read_request(call.params)
    account, signed = _sub_account(call.view, written.contents)
    checked = {content: _check_content(call, account, text) for content, text in signed.items()}
    _check_number_cap(written, checked.values())
    # Only a request id's answer is ever compared with another request.
    fingerprint = _fingerprint(call.params) if written.request_id is not None else ""
    if written.request_id is not None:
        replay = await _earlier_answer(ctx, call, written.request_id, fingerprint)
        if replay is not None:
            return _replayed(replay)
    numbers = _numbers(written, checked, call.snapshot.carriers)
    limits = _frequency_limits(account, checked.values())
    request = _send_request(call, account, written.request_id, fingerprint, numbers, limits)
    if ctx.frequency is None:
        outcome = await ctx.db.write_batched(accept_sends, request)
    else:
        outcome = await _accept_shared(ctx, ctx.frequency, request)
    if isinstance(outcome, Accepted):
        ctx.on_accepted()
    return _answer(outcome)


# --- the numbers and contents as written (§4.1) --------------------------------------------------


def _read_request(params: Mapping[str, str]) -> _Written:
    """The numbers, the contents and the request id, each checked for presence, count and size."""
    mobiles = _split_mobiles(params.get("mobile", ""))
    if not mobiles:
        raise ApiError(codes.MOBILE_EMPTY)
    if len(mobiles) > MAX_MARKETING_NUMBERS:
        raise ApiError(codes.TOO_MANY_MOBILES)
    raw_content = params.get("content", "")
    if not raw_content.strip():
        raise ApiError(codes.CONTENT_EMPTY)
    request_id = params.get("requestid", "").strip() or None
    if request_id is not None and len(request_id) > MAX_REQUEST_ID:
        raise ApiError(codes.INVALID_PARAMETER)
    return _Written(mobiles, _split_contents(raw_content, len(mobiles)), request_id)


def _split_mobiles(raw: str) -> list[str]:
    return [m for m in (part.strip() for part in raw.split(",")) if m]


def _split_contents(raw: str, numbers: int) -> list[str]:
    """One content for every number, or one per number separated by `,,` (as many as the numbers)."""
    contents = raw.split(",,") if ",," in raw else [raw]
    if len(contents) > 1:
        if len(contents) != numbers:
            raise ApiError(codes.CONTENT_COUNT_MISMATCH)
        if len(contents) > MAX_PER_NUMBER_CONTENTS:
            raise ApiError(codes.TOO_MANY_MOBILES)
    contents = [c.strip() for c in contents]
    if not all(contents):
        raise ApiError(codes.CONTENT_EMPTY)
    return contents


# --- the signature names the sub-account (§4.1, §5.1) -------------------------------------------


def _sub_account(view: CustomerView, contents: list[str]) -> tuple[Account, dict[str, Signed]]:
    """The sub-account the signature names (in canonical form), and each content's signature split."""
    signature, texts = _signatures(contents)
    account = view.by_signature.get(signature)
    if account is None:
        raise ApiError(codes.SIGNATURE_UNKNOWN)
    if account.status != AccountStatus.APPROVED:
        status_error = _ACCOUNT_STATUS_ERRORS.get(AccountStatus(account.status))
        if status_error is not None:
            raise ApiError(status_error)
    return account, texts


def _signatures(contents: list[str]) -> tuple[str, dict[str, Signed]]:
    """The one signature the contents carry, and each distinct content's signature split.

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
    return signature or "", texts


# --- each content: its length, sensitive words and template (§5.2–5.4) --------------------------


def _check_content(call: Call, account: Account, signed: Signed) -> _Checked:
    # Rules read the text in canonical form (the template matcher too): nothing invisible counts.
    text = canonical_text(signed.text).strip()
    _check_length(signed.content, text)
    _check_words(call, signed.content)
    kind = _template_kind(call, account, text)
    return _Checked(signed.content, kind, count_segments(signed.content))


def _check_length(content: str, text: str) -> None:
    if count_chars(content) > MAX_CONTENT_CHARS:
        raise ApiError(codes.CONTENT_TOO_LONG)
    if not text:
        raise ApiError(codes.CONTENT_EMPTY)


def _check_words(call: Call, content: str) -> None:
    if call.snapshot.words.first(content) is not None:
        raise ApiError(codes.CONTENT_SENSITIVE)


def _template_kind(call: Call, account: Account, text: str) -> TemplateKind:
    """The kind of the approved template `text` fills in; a template-exempt sub-account's texts are
    classified as a template would be."""
    if account.istemnocheck:
        return classify(text, ismarket=any(t in text for t in OPT_OUT_TEXTS))
    match = call.view.matchers[account.id].match(text)
    if match is None:
        raise ApiError(codes.TEMPLATE_UNKNOWN)
    status_error = _TEMPLATE_STATUS_ERRORS.get(match.status)
    if status_error is not None:
        raise ApiError(status_error)
    return _KINDS[call.view.template_kinds[match.template_id]]


def _check_number_cap(written: _Written, checked: Iterable[_Checked]) -> None:
    """Up to 5,000 numbers for marketing, 200 when any content is a notification or verification."""
    if len(written.mobiles) > MAX_OTHER_NUMBERS and any(c.kind != TemplateKind.MARKETING for c in checked):
        raise ApiError(codes.TOO_MANY_MOBILES)


# --- an earlier answer to the same request id (§8) ----------------------------------------------


def _fingerprint(params: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in ("mobile", "content"):
        digest.update(params.get(name, "").encode())
        digest.update(b"\x00")
    return digest.hexdigest()


async def _earlier_answer(ctx: ApiContext, call: Call, request_id: str, fingerprint: str) -> Replay | None:
    """The answer given to `request_id` within 24 hours, if any (looked up before any number is
    judged; the acceptance looks again in its transaction)."""
    return await ctx.db.read(find_replay, call.customer_id, request_id, fingerprint, int(time.time()))


def _replayed(replay: Replay) -> Any:
    if not replay.same_request:
        raise ApiError(codes.REQUEST_ID_REUSED)
    return replay.result


# --- each number: its normal form and carrier (§4.1, §5.7) --------------------------------------


def _numbers(written: _Written, checked: Mapping[str, _Checked], carriers: CarrierTable) -> _Numbers:
    """One message per valid number, in request order; invalid numbers are skipped, and when none is
    left the first one's error is the answer."""
    messages: list[NewMessage] = []
    skipped: list[dict[str, str]] = []
    skipped_at: list[int] = []
    only = checked[written.contents[0]] if len(written.contents) == 1 else None
    for index, raw in enumerate(written.mobiles):
        mobile = normalize_mobile(raw)
        if mobile is None:
            skipped.append(_skipped(raw, codes.MOBILE_INVALID))
            skipped_at.append(index)
            continue
        item = only or checked[written.contents[index]]
        carrier = carriers.carrier_of(mobile)
        carrier_name = carrier.value if carrier else "unknown"
        messages.append(NewMessage(mobile, item.content, item.segments, item.kind, carrier_name, index))
    if not messages:
        raise ApiError(int(skipped[0]["status"]))
    return _Numbers(messages, skipped, skipped_at)


def _skipped(mobile: str, code: int) -> dict[str, str]:
    return skipped_number(mobile, str(code), codes.message_for(code))


# --- frequency limits, counted by the acceptance (§5.5) -----------------------------------------


def _frequency_limits(account: Account, checked: Iterable[_Checked]) -> dict[str, tuple[Limit, ...]]:
    """The frequency limits of the kinds sent, the sub-account's overrides first; a kind without any
    (an empty override) is not counted. The acceptance counts them from the stored messages."""
    overrides = {kind: parse_limits(spec) for kind, spec in account.freq_limits.items()}
    kinds = {c.kind for c in checked}
    return {kind: limits for kind in kinds if (limits := limits_for(_KINDS[kind], overrides))}


_OPTED_OUT_ERROR = (str(codes.OPTED_OUT), codes.message_for(codes.OPTED_OUT))
_FREQUENCY_ERROR = (str(codes.FREQUENCY_EXCEEDED), codes.message_for(codes.FREQUENCY_EXCEEDED))


# --- acceptance: opt-outs, frequency limits and the quota in one transaction (§4.1) -------------


def _send_request(
    call: Call,
    account: Account,
    request_id: str | None,
    fingerprint: str,
    numbers: _Numbers,
    limits: dict[str, tuple[Limit, ...]],
) -> SendRequest:
    return SendRequest(
        customer_id=call.customer_id,
        account_id=account.id,
        messages=numbers.messages,
        now=int(time.time()),
        request_id=request_id,
        fingerprint=fingerprint,
        failed=numbers.skipped,
        opted_out_error=_OPTED_OUT_ERROR,
        failed_at=numbers.skipped_at,
        limits=limits,
        frequency_error=_FREQUENCY_ERROR,
    )


# --- scaled out: the limits and the request id decided in Redis first (cluster/limits.py) --------


async def _accept_shared(ctx: ApiContext, frequency: SharedFrequency, request: SendRequest) -> SendOutcome:
    """The acceptance with the frequency limits counted in Redis, for every node at once, and the
    request id claimed there while this node accepts it: another node given the same request id at the
    same time waits for this one's answer and replays it. The counts of numbers not accepted, and the
    claim, are taken back afterwards. Redis unreachable: busy (243), nothing stored, nothing counted."""
    claim = frequency.claim_key(request.customer_id, request.request_id) if request.request_id else None
    numbers = [(m.kind, m.mobile) for m in request.messages]
    deadline = time.monotonic() + CLAIM_WAIT
    while True:
        try:
            reservation = await frequency.reserve(
                request.account_id, numbers, request.limits, request.now, claim
            )
        except SharedUnavailable:
            raise ApiError(codes.SERVICE_BUSY) from None
        if reservation is not None:
            break
        # Another node is accepting this request id: its answer, once committed, is this one's too.
        assert request.request_id is not None
        replay = await ctx.db.read(
            find_replay, request.customer_id, request.request_id, request.fingerprint, int(time.time())
        )
        if replay is not None:
            return replay
        if time.monotonic() >= deadline:
            raise ApiError(codes.SERVICE_BUSY)
        await asyncio.sleep(CLAIM_POLL)
    accepted: frozenset[int] = frozenset()
    try:
        outcome = await ctx.db.write_batched(
            accept_sends, dataclasses.replace(request, within=reservation.within)
        )
        if isinstance(outcome, Accepted):
            accepted = outcome.positions
    finally:
        kept = [i for i, m in enumerate(request.messages) if m.position in accepted]
        await frequency.release(reservation, kept)
    return outcome


# --- the answer ---------------------------------------------------------------------------------


def _answer(outcome: SendOutcome) -> Any:
    """The send answer built at acceptance; or, when nothing was accepted, the quota's error or the
    first skipped number's."""
    if isinstance(outcome, Accepted):
        return outcome.result
    if isinstance(outcome, Replay):
        return _replayed(outcome)
    if outcome.reason == "quota":
        raise ApiError(codes.BALANCE_LOW)
    raise ApiError(int(outcome.failed[0]["status"]))
