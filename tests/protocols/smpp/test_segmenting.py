import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.smpp.codec import decode, encode
from smsplatform.protocols.smpp.pdu import ESM_CLASS_UDHI, SubmitSm
from smsplatform.protocols.smpp.reassembly import Reassembler
from smsplatform.protocols.smpp.segmenting import LongMessageMode, build_submit_sms
from smsplatform.protocols.text import TextEncoding

from ..text_strategies import texts

TEMPLATE = SubmitSm(sequence=0, source_addr="10086", destination_addr="13800138000", registered_delivery=1)


def test_short_gsm_text_is_one_plain_submit() -> None:
    (pdu,) = build_submit_sms("Hello €", TEMPLATE, ref=1)
    assert pdu.short_message == b"Hello \x1b\x65"
    assert pdu.data_coding == 0
    assert pdu.esm_class == 0
    assert pdu.registered_delivery == 1
    assert pdu.destination_addr == "13800138000"


def test_long_ucs2_text_gets_udh_and_udhi() -> None:
    pdus = build_submit_sms("你" * 71, TEMPLATE, ref=0x1FF)
    assert [p.data_coding for p in pdus] == [8, 8]
    assert all(p.esm_class & ESM_CLASS_UDHI for p in pdus)
    assert pdus[0].short_message[:6] == bytes.fromhex("050003FF0201")
    assert pdus[1].short_message[:6] == bytes.fromhex("050003FF0202")
    assert len(pdus[0].short_message) == 6 + 134


def test_sar_mode_uses_tlvs_without_udh() -> None:
    pdus = build_submit_sms("a" * 200, TEMPLATE, ref=0x10203, mode=LongMessageMode.SAR)
    assert len(pdus) == 2
    assert pdus[0].short_message == b"a" * 153
    assert all(not p.udhi for p in pdus)
    assert [(p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in pdus] == [
        (0x0203, 2, 1),
        (0x0203, 2, 2),
    ]


def test_payload_mode_puts_long_text_in_message_payload() -> None:
    (pdu,) = build_submit_sms("b" * 1000, TEMPLATE, ref=0, mode=LongMessageMode.PAYLOAD)
    assert pdu.short_message == b""
    assert pdu.message_payload == b"b" * 1000
    (short,) = build_submit_sms("b" * 10, TEMPLATE, ref=0, mode=LongMessageMode.PAYLOAD)
    assert short.short_message == b"b" * 10
    assert short.message_payload is None


def test_explicit_encoding_and_data_coding() -> None:
    (pdu,) = build_submit_sms("é", TEMPLATE, ref=0, encoding=TextEncoding.LATIN1)
    assert (pdu.data_coding, pdu.short_message) == (3, b"\xe9")
    (pdu,) = build_submit_sms("é", TEMPLATE, ref=0, encoding=TextEncoding.LATIN1, data_coding=0)
    assert pdu.data_coding == 0


def test_unencodable_text() -> None:
    with pytest.raises(ValueError):
        build_submit_sms("中", TEMPLATE, ref=0, encoding=TextEncoding.GSM7)


@given(
    texts(max_size=500), st.sampled_from([LongMessageMode.UDH, LongMessageMode.SAR, LongMessageMode.PAYLOAD])
)
def test_built_submits_survive_the_wire_and_reassemble(text: str, mode: LongMessageMode) -> None:
    pdus = build_submit_sms(text, TEMPLATE, ref=77, mode=mode)
    reassembler = Reassembler()
    results = []
    for pdu in reversed(pdus):
        received = decode(encode(pdu))
        assert isinstance(received, SubmitSm)
        results.append(reassembler.feed(received, now=0.0))
    assert results[:-1] == [None] * (len(pdus) - 1)
    message = results[-1]
    assert message is not None
    assert message.text() == text
