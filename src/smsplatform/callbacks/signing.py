"""The signature header that proves a callback came from us.

Every callback POST carries `X-Signature: hex(HMAC-SHA256(appkey, body))` over the exact body bytes,
keyed by the customer's appkey (which only the customer and the platform know). Receivers recompute it
over the raw body before parsing and compare in constant time. Duplicates (a retry after a lost answer)
are recognised by `reportid` / `replyid`, so the signature needs no timestamp.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Signature"


def sign(appkey: str, body: bytes) -> str:
    return hmac.new(appkey.encode(), body, hashlib.sha256).hexdigest()
