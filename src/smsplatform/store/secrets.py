"""Secrets at rest: appkeys, connector passwords and reply passwords never reach the database in plain.

One secret key (32 random bytes, kept outside the database: a key file, a setting or an environment
variable) yields, by HKDF, three keys of their own:

- an AES-256-GCM key that seals each secret (a random nonce each time; the column it belongs to is the
  associated data, so a sealed value moved to another column does not open);
- an HMAC-SHA256 key for the appkey's lookup hash: the API finds a customer by the hash of the appkey it
  was given, with no decryption, and a copy of the database cannot be searched for a guessed appkey
  without the key;
- a fingerprint, kept in the database, that tells at start whether a key is the one its secrets were
  sealed with (a wrong key is refused before anything is read or written with it).

Every process opens the database with its key (`Database.open(url, secrets=...)`); repositories find it
from their connection (`box_for`), so their signatures are those of any other repository.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from smsplatform.store.clock import now
from smsplatform.store.errors import StoreError
from smsplatform.store.schema import accounts, connectors, customers, secret_key

KEY_BYTES = 32
_NONCE_BYTES = 12
_VERSION = "v1."  # the sealing scheme, so that another can follow without guessing

# The associated data of each kind of secret: the column it is kept in.
APPKEY = b"customers.appkey"
REPLY_PASSWORD = b"accounts.replypassword"
CONNECTOR_SECRETS = b"connectors.secrets"


class SecretKeyError(StoreError):
    """The secret key is missing, malformed, or not the one this database's secrets were sealed with."""


def is_secret_option(key: str) -> bool:
    """A connector option that holds a secret (SGIP's listen_password, a shared secret): sealed with the
    connector's password, never kept in the options column."""
    lowered = key.lower()
    return "password" in lowered or "secret" in lowered


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode()


def decode_key(text: str, *, source: str) -> bytes:
    """The key written as base64 text (standard or URL-safe alphabet); `source` names where it came from."""
    cleaned = "".join(text.split())
    try:
        key = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise SecretKeyError(f"{source}: not base64 text") from None
    if len(key) != KEY_BYTES:
        raise SecretKeyError(
            f"{source}: a secret key is {KEY_BYTES} bytes (44 base64 characters), not {len(key)}"
        )
    return key


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"smsplatform " + purpose).derive(key)


class SecretBox:
    """Seals and opens secrets, and hashes appkeys, with keys derived from one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"a secret key is {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(_derive(key, b"secrets at rest"))
        self._lookup = _derive(key, b"appkey lookup")
        self.fingerprint = _derive(key, b"key fingerprint").hex()
        # Opening is cached by the sealed text: configuration reloads open the same values again and again.
        self._opened = functools.lru_cache(maxsize=65_536)(self._open)

    @classmethod
    def for_this_process(cls) -> SecretBox:
        """A key made for this process alone (tests, tools): what it seals no other process can read."""
        return cls(new_key())

    def lookup_hash(self, appkey: str) -> str:
        """The appkey's keyed hash (hex), by which its customer is found (once per API call: the
        one-shot digest, without an HMAC object)."""
        return hmac.digest(self._lookup, appkey.encode(), "sha256").hex()

    def seal(self, plain: str, purpose: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), purpose)
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, purpose: bytes) -> str:
        """The plain value of `sealed`; SecretKeyError if this key did not seal it (for this column)."""
        return self._opened(sealed, purpose)

    def _open(self, sealed: str, purpose: bytes) -> str:
        if not sealed.startswith(_VERSION):
            raise SecretKeyError(f"a sealed {purpose.decode()} of an unknown scheme")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_VERSION) :])
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose).decode()
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretKeyError(
                "the secret key does not open this database: "
                f"a sealed {purpose.decode()} does not open with it"
            ) from None

    def seal_optional(self, plain: str, purpose: bytes) -> str | None:
        """Sealed, or None for an empty value (nothing to hide, nothing to store)."""
        return self.seal(plain, purpose) if plain else None

    def open_optional(self, sealed: str | None, purpose: bytes) -> str:
        return self.open(sealed, purpose) if sealed else ""


# --- which key a connection's database was opened with -----------------------------------------------

_by_url: dict[str, SecretBox] = {}
_by_engine: weakref.WeakKeyDictionary[sa.Engine, SecretBox] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def bind(engine: sa.Engine, box: SecretBox) -> None:
    """`engine`'s database is opened with `box`, and so is any other engine of this process on its URL."""
    with _lock:
        _by_url[_url_of(engine)] = box
        _by_engine[engine] = box


def bound(engine: sa.Engine) -> SecretBox | None:
    """The key this process opened `engine`'s database with, if it did."""
    with _lock:
        box = _by_engine.get(engine)
        if box is None:
            box = _by_url.get(_url_of(engine))
            if box is not None:
                _by_engine[engine] = box
        return box


def box_for(conn: sa.Connection) -> SecretBox:
    """The key of the database `conn` works on, as this process opened it."""
    box = bound(conn.engine)
    if box is None:
        raise SecretKeyError("no secret key is loaded for this database: open it with Database.open")
    return box


# --- the key's fingerprint -----------------------------------------------------------------------------


def stored_fingerprint(conn: sa.Connection) -> str | None:
    return conn.execute(sa.select(secret_key.c.fingerprint).where(secret_key.c.id == 1)).scalar()


def check_key(conn: sa.Connection, box: SecretBox, *, source: str) -> bool:
    """Refuses a key that is not the database's; a database without a key yet takes this one.

    Returns whether the key was adopted now. Safe when several processes start at once: the first to
    commit its fingerprint wins, and the others compare with it.
    """
    found = stored_fingerprint(conn)
    if found is None:
        try:
            with conn.begin_nested():
                conn.execute(
                    sa.insert(secret_key).values(id=1, fingerprint=box.fingerprint, created_at=now())
                )
        except sa.exc.IntegrityError:
            found = stored_fingerprint(conn)
        else:
            return True
    if not hmac.compare_digest(str(found), box.fingerprint):
        raise SecretKeyError(
            f"the secret key does not open this database: the key from {source} is not the one its secrets "
            "were sealed with (give that key: secret_key, SMSPLATFORM_SECRET_KEY or secret_key_file)"
        )
    return False


# --- sealing what an older schema kept in plain ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sealed:
    """What one pass found in plain and sealed."""

    appkeys: int = 0
    reply_passwords: int = 0
    connectors: int = 0

    @property
    def total(self) -> int:
        return self.appkeys + self.reply_passwords + self.connectors


def seal_connector_secrets(box: SecretBox, password: str, options: Mapping[str, str]) -> tuple[str, str]:
    """A connector's (sealed secrets, options JSON without them)."""
    secret_options = {k: v for k, v in options.items() if is_secret_option(k)}
    public = {k: v for k, v in options.items() if not is_secret_option(k)}
    sealed = box.seal(
        json.dumps({"password": password, "options": secret_options}, sort_keys=True), CONNECTOR_SECRETS
    )
    return sealed, json.dumps(public, sort_keys=True)


def open_connector_secrets(box: SecretBox, sealed: str | None) -> tuple[str, dict[str, str]]:
    """A connector's (password, secret options)."""
    if not sealed:
        return "", {}
    found = json.loads(box.open(sealed, CONNECTOR_SECRETS))
    return str(found.get("password", "")), {str(k): str(v) for k, v in found.get("options", {}).items()}


def seal_plaintext(conn: sa.Connection, box: SecretBox) -> Sealed:
    """Seals every secret still kept in plain (a database from before secrets were sealed) and clears
    the plain value. Each row is rewritten only if it is still in plain, so processes doing this at once
    seal each row once; running it again finds nothing."""
    appkeys = 0
    for row_id, appkey in conn.execute(
        sa.select(customers.c.id, customers.c.appkey_hash).where(customers.c.appkey_sealed.is_(None))
    ).all():
        appkeys += conn.execute(
            sa.update(customers)
            .where(customers.c.id == row_id, customers.c.appkey_sealed.is_(None))
            .values(appkey_hash=box.lookup_hash(appkey), appkey_sealed=box.seal(appkey, APPKEY))
        ).rowcount
    replies = 0
    for row_id, password in conn.execute(
        sa.select(accounts.c.id, accounts.c.replypassword).where(accounts.c.replypassword != "")
    ).all():
        replies += conn.execute(
            sa.update(accounts)
            .where(accounts.c.id == row_id, accounts.c.replypassword == password)
            .values(replypassword="", replypassword_sealed=box.seal(password, REPLY_PASSWORD))
        ).rowcount
    links = 0
    for name, password, options in conn.execute(
        sa.select(connectors.c.name, connectors.c.password, connectors.c.options).where(
            connectors.c.secrets_sealed.is_(None)
        )
    ).all():
        sealed, public = seal_connector_secrets(box, password, json.loads(options or "{}"))
        links += conn.execute(
            sa.update(connectors)
            .where(connectors.c.name == name, connectors.c.secrets_sealed.is_(None))
            .values(password="", options=public, secrets_sealed=sealed)
        ).rowcount
    return Sealed(appkeys, replies, links)
