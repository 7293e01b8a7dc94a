"""The Login digests (spec §6.2.2, §6.2.7): how client and gateway prove they share a secret.

AuthenticatorClient = MD5(ClientID + 7 x 0x00 + secret + TimeStamp as 10 ASCII digits MMDDHHMMSS)
AuthenticatorServer = MD5(Status as 4 octets + AuthenticatorClient + secret)

ClientID goes in as written, without the NUL padding of its 8-octet field. The secret is at most
15 octets; it is taken as bytes or as text in UTF-8 (ASCII in every deployment seen).
"""

import hashlib
import hmac
from datetime import datetime
from typing import Final

from smsplatform.protocols.smgp.wire import TEXT_ENCODING

SHARED_SECRET_MAX: Final = 15  # octets (spec §6.2.2)


def login_timestamp(when: datetime) -> int:
    """TimeStamp field for a Login sent at `when` (the sender's local clock, as gateways expect)."""
    return int(when.strftime("%m%d%H%M%S"))


def client_authenticator(client_id: str, shared_secret: str | bytes, timestamp: int) -> bytes:
    if not 0 <= timestamp <= 9_999_999_999:
        raise ValueError(f"TimeStamp must be MMDDHHMMSS as a number, got {timestamp}")
    material = (
        client_id.encode(TEXT_ENCODING)
        + bytes(7)
        + _secret_bytes(shared_secret)
        + f"{timestamp:010d}".encode("ascii")
    )
    return hashlib.md5(material, usedforsecurity=False).digest()


def server_authenticator(status: int, authenticator_client: bytes, shared_secret: str | bytes) -> bytes:
    material = status.to_bytes(4, "big") + authenticator_client + _secret_bytes(shared_secret)
    return hashlib.md5(material, usedforsecurity=False).digest()


def verify_client_authenticator(
    client_id: str, shared_secret: str | bytes, timestamp: int, authenticator_client: bytes
) -> bool:
    """Whether a Login proves knowledge of the secret; compared in constant time."""
    expected = client_authenticator(client_id, shared_secret, timestamp)
    return hmac.compare_digest(expected, authenticator_client)


def verify_server_authenticator(
    status: int, authenticator_client: bytes, shared_secret: str | bytes, authenticator_server: bytes
) -> bool:
    """Whether a Login_Resp comes from a gateway that knows the secret (a client's check of the server)."""
    expected = server_authenticator(status, authenticator_client, shared_secret)
    return hmac.compare_digest(expected, authenticator_server)


def _secret_bytes(shared_secret: str | bytes) -> bytes:
    return shared_secret.encode("utf-8") if isinstance(shared_secret, str) else shared_secret
