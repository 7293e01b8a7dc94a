import pytest

from smsplatform.protocols.sgip.coding import message_coding_for, text_encoding_for
from smsplatform.protocols.sgip.pdu import MessageCoding
from smsplatform.protocols.text import TextEncoding


@pytest.mark.parametrize(
    ("coding", "encoding"),
    [(0, TextEncoding.ASCII), (8, TextEncoding.UCS2), (15, TextEncoding.GBK)],
)
def test_text_codings_map_both_ways(coding: int, encoding: TextEncoding) -> None:
    assert text_encoding_for(coding) == encoding
    assert message_coding_for(encoding) == coding


@pytest.mark.parametrize("coding", [MessageCoding.BINARY, MessageCoding.WRITE_CARD, 1, 245])
def test_non_text_codings_have_no_text_encoding(coding: int) -> None:
    assert text_encoding_for(coding) is None


@pytest.mark.parametrize("encoding", [TextEncoding.GSM7, TextEncoding.LATIN1])
def test_encodings_sgip_cannot_carry_are_refused(encoding: TextEncoding) -> None:
    with pytest.raises(ValueError):
        message_coding_for(encoding)
