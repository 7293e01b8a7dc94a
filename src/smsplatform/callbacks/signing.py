"""The signature header that proves a callback came from us.

Every callback POST carries `X-Signature: hex(HMAC-SHA256(appkey, body))` over the exact body bytes,
keyed by the customer's appkey (which only the customer and the platform know). Receivers recompute it
over the raw body before parsing and compare in constant time. Duplicates (a retry after a lost answer)
are recognised by `reportid` / `replyid`, so the signature needs no timestamp.

After the operator rotates a customer's appkey, the new appkey signs `X-Signature`; while the old one is
in its grace period, `X-Signature-Previous` carries the signature by the old one, so that a receiver can
accept either while it switches to the new key.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Signature"
PREVIOUS_SIGNATURE_HEADER = "X-Signature-Previous"


def sign(appkey: str, body: bytes) -> str:
    return hmac.new(appkey.encode(), body, hashlib.sha256).hexdigest()


def signature_headers(appkey: str, previous_appkey: str, body: bytes) -> dict[str, str]:
    """The signature headers of one POST: by the appkey, and by the old one while it still works."""
    headers = {SIGNATURE_HEADER: sign(appkey, body)}
    if previous_appkey:
        headers[PREVIOUS_SIGNATURE_HEADER] = sign(previous_appkey, body)
    return headers
