import hashlib
from datetime import datetime

import pytest

from smsplatform.protocols.smgp.auth import (
    client_authenticator,
    login_timestamp,
    server_authenticator,
    verify_client_authenticator,
    verify_server_authenticator,
)


def test_login_timestamp_is_mmddhhmmss_as_a_number() -> None:
    # The spec's example: 1 March, 00:00:00 is 0x11F0E540.
    assert login_timestamp(datetime(2024, 3, 1, 0, 0, 0)) == 0x11F0E540
    assert login_timestamp(datetime(2024, 12, 31, 23, 59, 58)) == 1231235958


def test_client_authenticator_hashes_unpadded_id_seven_zeros_secret_and_ten_digits() -> None:
    expected = hashlib.md5(b"1069" + bytes(7) + b"pw" + b"0301000000").digest()
    assert client_authenticator("1069", "pw", 0x11F0E540) == expected
    assert client_authenticator("1069", b"pw", 0x11F0E540) == expected


def test_server_authenticator_hashes_four_octet_status_client_digest_and_secret() -> None:
    client = client_authenticator("1069", "pw", 301000000)
    assert server_authenticator(0, client, "pw") == hashlib.md5(bytes(4) + client + b"pw").digest()
    assert (
        server_authenticator(21, client, "pw") == hashlib.md5(b"\x00\x00\x00\x15" + client + b"pw").digest()
    )


def test_verification_accepts_the_right_secret_only() -> None:
    client = client_authenticator("1069", "pw", 301000000)
    assert verify_client_authenticator("1069", "pw", 301000000, client)
    assert not verify_client_authenticator("1069", "wrong", 301000000, client)
    assert not verify_client_authenticator("1069", "pw", 301000001, client)
    server = server_authenticator(0, client, "pw")
    assert verify_server_authenticator(0, client, "pw", server)
    assert not verify_server_authenticator(0, client, "other", server)
    assert not verify_server_authenticator(0, client, "pw", bytes(16))


def test_a_timestamp_beyond_ten_digits_is_refused() -> None:
    with pytest.raises(ValueError):
        client_authenticator("1069", "pw", 10_000_000_000)
