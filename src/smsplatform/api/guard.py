"""The system checks every call passes before its endpoint runs (codes 101–108)."""

from __future__ import annotations

import ipaddress
import time
from functools import lru_cache

from smsplatform.api import codes
from smsplatform.api.context import ApiContext, Call
from smsplatform.api.envelope import ApiError
from smsplatform.api.params import RawRequest, implausible_head
from smsplatform.cluster.shared import SharedUnavailable
from smsplatform.domain.frequency import Limit


@lru_cache(maxsize=4096)
def _networks(allow_ips: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allow_ips)


def ip_allowed(client_ip: str, allow_ips: tuple[str, ...]) -> bool:
    if not allow_ips:
        return True
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(allow_ips))


async def admit(ctx: ApiContext, endpoint: str, request: RawRequest, client_ip: str) -> Call:
    """The call, once every check passed. Its parameters are decoded last: until the appkey is known
    to be a customer's, a request costs a search for the appkey in its bytes and nothing more."""
    snapshot = await ctx.catalog.current()
    if snapshot.maintenance:
        raise ApiError(codes.MAINTENANCE)
    if snapshot.settings.get("disabled_endpoints") and endpoint in snapshot.disabled_endpoints:
        raise ApiError(codes.ENDPOINT_DISABLED)
    now = time.time()
    # Anti-bombing: counted before the appkey is even looked at, so floods with bad keys are cut too.
    limits = ctx.ip_limits if endpoint == "send" else ()
    if limits and not await _allow_caller(ctx, client_ip, limits, now):
        raise ApiError(codes.IP_RATE_EXCEEDED)
    appkey = (request.peek("appkey") or "").strip()
    if not appkey or len(appkey) > 64:
        raise ApiError(codes.APPKEY_MISSING)
    snapshot, view = await ctx.catalog.customer(appkey)
    if view is None:
        raise ApiError(codes.APPKEY_MISSING)
    customer = view.customer
    if not customer.enabled:
        raise ApiError(codes.APPKEY_FORBIDDEN)
    if customer.expires_at is not None and customer.expires_at < now:
        raise ApiError(codes.APPKEY_EXPIRED)
    if not ip_allowed(client_ip, customer.allow_ips):
        raise ApiError(codes.IP_FORBIDDEN)
    if customer.daily_request_limit is not None and not await _allow_request(
        ctx, endpoint, customer.id, customer.daily_request_limit, now
    ):
        raise ApiError(codes.REQUEST_QUOTA_EXCEEDED)
    params = request.params()
    if params.get("appkey", "").strip() != appkey:
        # Spelt so that the search above saw another appkey than the parser (an escaped name, a
        # repeated JSON key): ambiguous, so refused rather than guessed.
        raise ApiError(codes.APPKEY_MISSING)
    return Call(endpoint, params, snapshot, view, client_ip)


async def _allow_caller(ctx: ApiContext, client_ip: str, limits: tuple[Limit, ...], now: float) -> bool:
    """Scaled out, a caller's `send` cannot be counted while Redis is unreachable: busy (243)."""
    try:
        return await ctx.limits.allow_caller(client_ip, limits, now)
    except SharedUnavailable:
        raise ApiError(codes.SERVICE_BUSY) from None


async def _allow_request(ctx: ApiContext, endpoint: str, customer_id: int, per_day: int, now: float) -> bool:
    """Scaled out, while Redis is unreachable: `send` is busy (it could not be judged anyway, and stores
    nothing); every other endpoint is counted by the store (see `ApiContext.store_limits`)."""
    try:
        return await ctx.limits.allow_request(customer_id, per_day, now)
    except SharedUnavailable:
        if endpoint == "send":
            raise ApiError(codes.SERVICE_BUSY) from None
        return await ctx.store_limits.allow_request(customer_id, per_day, now)


async def refuse_early(ctx: ApiContext, head: RawRequest) -> None:
    """Before the rest of a long body is read (cost before trust): refused now when the appkey its
    head names (in the body's head, else in the query) is no customer's (101); when the head names
    none and already shows the body is no request of this API (101, as a short body without an appkey
    gets); or when a customer's body is no request of this API (235, what decoding it would answer). A
    request whose appkey is further on in a plausible body is read whole, as before."""
    appkey = (head.peek("appkey") or "").strip()
    implausible = implausible_head(head.body, head.content_type)
    if not appkey:
        if implausible:
            raise ApiError(codes.APPKEY_MISSING)
        return
    if len(appkey) > 64:
        raise ApiError(codes.APPKEY_MISSING)
    _, view = await ctx.catalog.customer(appkey)
    if view is None:
        raise ApiError(codes.APPKEY_MISSING)
    if implausible:
        raise ApiError(codes.BODY_INVALID)
