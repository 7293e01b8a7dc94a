"""CMPP_CONNECT login digests.

The SP proves it knows the shared secret without sending it: AuthenticatorSource = MD5(Source_Addr + 9 zero
octets + secret + timestamp), and the ISMG proves the same back with AuthenticatorISMG = MD5(Status +
AuthenticatorSource + secret). Callers pass the time in, so these stay pure.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

_TIMESTAMP_MAX = 1231235959


def connect_timestamp(when: datetime) -> int:
    """The Timestamp field for ``when``: the digits MMDDHHMMSS read as one integer."""
    return int(when.strftime("%m%d%H%M%S"))


def _timestamp_text(timestamp: int) -> bytes:
    # The digest hashes the 10 digits, so January's leading zero must be kept ("0102..." not "102...").
    if not 0 <= timestamp <= _TIMESTAMP_MAX:
        raise ValueError(f"timestamp {timestamp} is not MMDDHHMMSS")
    return b"%010d" % timestamp


def authenticator_source(source_addr: str, shared_secret: str, timestamp: int) -> bytes:
    """AuthenticatorSource for a CMPP_CONNECT (16 octets)."""
    data = source_addr.encode("ascii") + bytes(9) + shared_secret.encode() + _timestamp_text(timestamp)
    return hashlib.md5(data, usedforsecurity=False).digest()


def is_valid_authenticator_source(
    source_addr: str, authenticator: bytes, shared_secret: str, timestamp: int
) -> bool:
    """Whether a CONNECT's AuthenticatorSource matches the secret we hold for ``source_addr``."""
    try:
        expected = authenticator_source(source_addr, shared_secret, timestamp)
    except ValueError:
        return False
    return hmac.compare_digest(expected, authenticator)


def authenticator_ismg(status: int, authenticator_source: bytes, shared_secret: str, version: int) -> bytes:
    """AuthenticatorISMG for a CMPP_CONNECT_RESP (16 octets).

    Status is hashed at its wire width: 4 octets from version 3.0 (0x30) on, 1 octet before.
    """
    width = 4 if version >= 0x30 else 1
    data = status.to_bytes(width, "big") + authenticator_source + shared_secret.encode()
    return hashlib.md5(data, usedforsecurity=False).digest()
