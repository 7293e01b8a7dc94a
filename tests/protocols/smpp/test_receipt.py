from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.pdu import (
    ESM_CLASS_DELIVERY_RECEIPT,
    DataSm,
    DeliverSm,
    MessageState,
)
from smsplatform.protocols.smpp.receipt import (
    Receipt,
    format_receipt,
    is_receipt,
    parse_receipt,
    receipt_from_pdu,
    receipt_id_forms,
)
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag

SPEC_STYLE = (
    "id:0123456789 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 "
    "stat:DELIVRD err:000 Text:Hello there, id:9"
)


def test_parse_appendix_b_layout() -> None:
    assert parse_receipt(SPEC_STYLE) == Receipt(
        id="0123456789",
        sub="001",
        dlvrd="001",
        submit_date="2401021530",
        done_date="2401021531",
        stat="DELIVRD",
        err="000",
        text="Hello there, id:9",
    )
    assert parse_receipt(SPEC_STYLE).state is MessageState.DELIVERED


def test_parse_tolerates_case_order_and_underscores() -> None:
    receipt = parse_receipt(
        "STAT:undeliv ERR:012 ID:ab12 Submit_Date:2401021530 done_date:2401021531 extra:1"
    )
    assert (receipt.id, receipt.stat, receipt.err) == ("ab12", "undeliv", "012")
    assert (receipt.submit_date, receipt.done_date) == ("2401021530", "2401021531")
    assert receipt.state is MessageState.UNDELIVERABLE
    assert receipt.sub == ""


@pytest.mark.parametrize("text", ["", "hello", "id:123 dlvrd:001", "stat:DELIVRD err:0", "id: stat:DELIVRD"])
def test_parse_requires_id_and_stat(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_receipt(text)


token = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), min_size=1, max_size=12
)


@given(
    st.builds(
        Receipt,
        id=token,
        stat=token,
        sub=token,
        dlvrd=token,
        submit_date=token,
        done_date=token,
        err=token,
        text=st.text(max_size=40),
    )
)
def test_format_then_parse(receipt: Receipt) -> None:
    assert parse_receipt(format_receipt(receipt)) == receipt


RECEIPT_PDU = DeliverSm(
    sequence=3,
    esm_class=ESM_CLASS_DELIVERY_RECEIPT,
    short_message=SPEC_STYLE.encode(),
)


def test_receipt_from_text() -> None:
    receipt = receipt_from_pdu(RECEIPT_PDU)
    assert receipt is not None
    assert (receipt.id, receipt.stat) == ("0123456789", "DELIVRD")


def test_receipted_message_id_tlv_wins_over_text() -> None:
    pdu = replace(RECEIPT_PDU, tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "75BCD15"),))
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None
    assert (receipt.id, receipt.err) == ("75BCD15", "000")


def test_receipt_from_tlvs_only() -> None:
    pdu = DataSm(
        sequence=1,
        esm_class=ESM_CLASS_DELIVERY_RECEIPT,
        tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "m1"), Tlv.uint(TlvTag.MESSAGE_STATE, 5, 1)),
    )
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None
    assert (receipt.id, receipt.stat, receipt.state) == ("m1", "UNDELIV", MessageState.UNDELIVERABLE)


def test_receipt_tlv_without_esm_class() -> None:
    pdu = DeliverSm(
        sequence=1,
        short_message=b"id:1 stat:EXPIRED",
        tlvs=(Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "1"),),
    )
    assert is_receipt(pdu)
    receipt = receipt_from_pdu(pdu)
    assert receipt is not None
    assert receipt.state is MessageState.EXPIRED


def test_mo_is_not_a_receipt() -> None:
    mo = DeliverSm(sequence=1, short_message=b"id:1 stat:DELIVRD")
    assert not is_receipt(mo)
    assert receipt_from_pdu(mo) is None


def test_unreadable_receipt() -> None:
    with pytest.raises(ProtocolError):
        receipt_from_pdu(replace(RECEIPT_PDU, short_message=b"garbage"))


def test_hex_submit_id_meets_decimal_receipt_id() -> None:
    assert set(receipt_id_forms("1A2B")) & set(receipt_id_forms("6699"))
    assert set(receipt_id_forms("1a2b")) & set(receipt_id_forms("0000006699"))
    assert set(receipt_id_forms("6699")) & set(receipt_id_forms("1A2B"))
    assert receipt_id_forms(" abc-1 ") == ("abc-1",)
    assert receipt_id_forms("1A2B")[0] == "1A2B"


@given(st.integers(0, 2**64))
def test_any_number_meets_in_hex_and_decimal(number: int) -> None:
    submit_forms = set(receipt_id_forms(f"{number:X}"))
    assert submit_forms & set(receipt_id_forms(str(number)))
    assert submit_forms & set(receipt_id_forms(f"{number:010d}"))
