import pytest

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.coding import (
    choose_data_coding,
    data_coding_for,
    decode_user_data,
    encoding_for,
)
from smsplatform.protocols.text import TextEncoding


def test_choose_gsm7_when_possible() -> None:
    assert choose_data_coding("Hello {world} €5") == (0, TextEncoding.GSM7)
    assert choose_data_coding("你好") == (8, TextEncoding.UCS2)
    assert choose_data_coding("ç") == (8, TextEncoding.UCS2)


@pytest.mark.parametrize(
    ("data_coding", "encoding"),
    [
        (0x00, TextEncoding.GSM7),
        (0x01, TextEncoding.ASCII),
        (0x03, TextEncoding.LATIN1),
        (0x08, TextEncoding.UCS2),
        (0x0F, TextEncoding.GBK),
        (0x02, None),
        (0x04, None),
        (0x18, TextEncoding.UCS2),  # GSM general group, class 0, UCS2
        (0x10, TextEncoding.GSM7),
        (0x14, None),  # 8-bit data
        (0x28, None),  # compressed
        (0xF0, TextEncoding.GSM7),  # message class 0 (flash)
        (0xF4, None),
        (0xE0, TextEncoding.UCS2),
    ],
)
def test_encoding_for(data_coding: int, encoding: TextEncoding | None) -> None:
    assert encoding_for(data_coding) == encoding


def test_data_coding_round_trip() -> None:
    for encoding in TextEncoding:
        assert encoding_for(data_coding_for(encoding)) == encoding


def test_decode_user_data() -> None:
    assert decode_user_data(b"\x00\x41", 8) == "A"
    with pytest.raises(ProtocolError):
        decode_user_data(b"\x01\x02", 4)
