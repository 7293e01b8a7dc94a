"""Which MessageCoding carries which shared text encoding.

SGIP redefines MessageCoding 0 as plain ASCII rather than the GSM 7-bit alphabet, and has no
Latin-1, so text that fits neither ASCII nor GBK travels as UCS2.
"""

from smsplatform.protocols.sgip.pdu import MessageCoding
from smsplatform.protocols.text import TextEncoding

_TEXT_ENCODINGS: dict[int, TextEncoding] = {
    MessageCoding.ASCII: TextEncoding.ASCII,
    MessageCoding.UCS2: TextEncoding.UCS2,
    MessageCoding.GBK: TextEncoding.GBK,
}
_MESSAGE_CODINGS = {encoding: MessageCoding(coding) for coding, encoding in _TEXT_ENCODINGS.items()}


def text_encoding_for(coding: int) -> TextEncoding | None:
    """The encoding of a text MessageCoding; None for binary, write-card and undefined values."""
    return _TEXT_ENCODINGS.get(coding)


def message_coding_for(encoding: TextEncoding) -> MessageCoding:
    """The MessageCoding to send text in `encoding` with; ValueError for GSM7 and Latin-1."""
    try:
        return _MESSAGE_CODINGS[encoding]
    except KeyError:
        raise ValueError(f"SGIP has no MessageCoding for {encoding.value} text") from None
