from dataclasses import replace

import pytest

from smsplatform.protocols.concat import build_concat_udh
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.pdu import ESM_CLASS_UDHI, DataSm, DeliverSm
from smsplatform.protocols.smpp.reassembly import Reassembler
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag

MO = DeliverSm(sequence=1, source_addr="13800138000", destination_addr="10086")


def part(ref: int, total: int, seq: int, text: bytes, source: str = "13800138000") -> DeliverSm:
    return replace(
        MO,
        source_addr=source,
        esm_class=ESM_CLASS_UDHI,
        short_message=build_concat_udh(ref, total, seq) + text,
    )


def sar_part(ref: int, total: int, seq: int, text: bytes) -> DeliverSm:
    tlvs = (
        Tlv.uint(TlvTag.SAR_MSG_REF_NUM, ref, 2),
        Tlv.uint(TlvTag.SAR_TOTAL_SEGMENTS, total, 1),
        Tlv.uint(TlvTag.SAR_SEGMENT_SEQNUM, seq, 1),
    )
    return replace(MO, short_message=text, tlvs=tlvs)


def test_single_message_is_complete_at_once() -> None:
    message = Reassembler().feed(replace(MO, short_message=b"hi"), now=0)
    assert message is not None
    assert (message.user_data, message.text(), message.complete) == (b"hi", "hi", True)
    assert message.source_addr == "13800138000"


def test_message_payload_is_complete_at_once() -> None:
    pdu = DataSm(sequence=1, data_coding=8, tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, "长".encode("utf-16-be")),))
    message = Reassembler().feed(pdu, now=0)
    assert message is not None
    assert message.text() == "长"


def test_udh_parts_out_of_order_and_interleaved() -> None:
    reassembler = Reassembler()
    assert reassembler.feed(part(5, 3, 3, b"C"), now=0) is None
    assert reassembler.feed(part(5, 2, 1, b"x", source="other"), now=0) is None
    assert reassembler.feed(part(5, 3, 1, b"A"), now=1) is None
    assert reassembler.feed(part(5, 3, 1, b"A"), now=1) is None  # duplicate
    message = reassembler.feed(part(5, 3, 2, b"B"), now=2)
    assert message is not None
    assert message.user_data == b"ABC"
    assert [p.user_data[-1:] for p in message.parts] == [b"A", b"B", b"C"]
    assert reassembler.pending == 1


def test_sar_parts() -> None:
    reassembler = Reassembler()
    assert reassembler.feed(sar_part(0x1234, 2, 2, b"world"), now=0) is None
    message = reassembler.feed(sar_part(0x1234, 2, 1, b"hello "), now=0)
    assert message is not None
    assert message.text() == "hello world"


def test_incomplete_sar_set_of_tlvs_is_ignored() -> None:
    pdu = replace(MO, short_message=b"x", tlvs=(Tlv.uint(TlvTag.SAR_MSG_REF_NUM, 1, 2),))
    message = Reassembler().feed(pdu, now=0)
    assert message is not None
    assert message.user_data == b"x"


def test_header_without_concatenation_is_stripped() -> None:
    pdu = replace(MO, esm_class=ESM_CLASS_UDHI, short_message=bytes.fromhex("0401020000") + b"hey")
    message = Reassembler().feed(pdu, now=0)
    assert message is not None
    assert message.user_data == b"hey"


def test_expiry_returns_what_arrived() -> None:
    reassembler = Reassembler(timeout=60)
    reassembler.feed(part(1, 3, 1, b"A"), now=100)
    reassembler.feed(part(1, 3, 3, b"C"), now=130)
    assert reassembler.expire(now=159) == []
    (expired,) = reassembler.expire(now=160)
    assert (expired.complete, expired.user_data) == (False, b"AC")
    assert reassembler.pending == 0


def test_oldest_set_is_evicted_when_full() -> None:
    reassembler = Reassembler(max_pending=2)
    for ref in range(3):
        reassembler.feed(part(ref, 2, 1, bytes([65 + ref])), now=ref)
    assert reassembler.pending == 2
    (evicted,) = reassembler.expire(now=3)
    assert evicted.user_data == b"A"
    assert reassembler.feed(part(2, 2, 2, b"!"), now=4) is not None


def test_malformed_header() -> None:
    with pytest.raises(ProtocolError):
        Reassembler().feed(replace(MO, esm_class=ESM_CLASS_UDHI, short_message=b"\x09\x00"), now=0)
