from __future__ import annotations

import hashlib
from datetime import datetime

import pytest

from smsplatform.protocols.cmpp.auth import (
    authenticator_ismg,
    authenticator_source,
    connect_timestamp,
    is_valid_authenticator_source,
)


def test_authenticator_source_hashes_addr_nine_zeros_secret_timestamp_in_that_order() -> None:
    expected = hashlib.md5(b"901234" + b"\0" * 9 + b"s3cret" + b"1225235959").digest()
    assert authenticator_source("901234", "s3cret", 1225235959) == expected


def test_authenticator_source_keeps_the_leading_zero_of_january() -> None:
    expected = hashlib.md5(b"901234" + b"\0" * 9 + b"s3cret" + b"0102030405").digest()
    assert authenticator_source("901234", "s3cret", 102030405) == expected


def test_authenticator_source_matches_gocmpp() -> None:
    # Published in the test data of gocmpp (github.com/bigwhite/gocmpp), an independent implementation.
    assert authenticator_source("900001", "888888", 1021080510).hex() == "90d00c1d517abd0b4f65f6bcf8535d16"


@pytest.mark.parametrize(
    ("version", "status_octets", "gocmpp_hex"),
    [
        (0x20, b"\0", "6c0b846e25bab6daa4ed1c466e0f4bd8"),
        (0x21, b"\0", "6c0b846e25bab6daa4ed1c466e0f4bd8"),
        (0x30, b"\0\0\0\0", "7942977274098cf210ab0c16c367bc8d"),
    ],
)
def test_authenticator_ismg_hashes_status_at_its_wire_width(
    version: int, status_octets: bytes, gocmpp_hex: str
) -> None:
    source = authenticator_source("900001", "888888", 1021080510)
    result = authenticator_ismg(0, source, "888888", version)
    assert result == hashlib.md5(status_octets + source + b"888888").digest()
    assert result.hex() == gocmpp_hex


def test_authenticator_ismg_differs_by_status() -> None:
    source = bytes(range(16))
    assert authenticator_ismg(3, source, "k", 0x30) == hashlib.md5(b"\0\0\0\x03" + source + b"k").digest()
    assert authenticator_ismg(3, source, "k", 0x30) != authenticator_ismg(0, source, "k", 0x30)


def test_connect_timestamp_is_mmddhhmmss_as_an_integer() -> None:
    assert connect_timestamp(datetime(2025, 1, 2, 3, 4, 5)) == 102030405
    assert connect_timestamp(datetime(2025, 12, 31, 23, 59, 59)) == 1231235959


def test_timestamp_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        authenticator_source("901234", "s", 1231235960)


def test_is_valid_authenticator_source() -> None:
    auth = authenticator_source("901234", "s3cret", 1021080510)
    assert is_valid_authenticator_source("901234", auth, "s3cret", 1021080510)
    assert not is_valid_authenticator_source("901234", auth, "other", 1021080510)
    assert not is_valid_authenticator_source("901234", auth, "s3cret", 1021080511)
    assert not is_valid_authenticator_source("901234", auth, "s3cret", 9999999999)
