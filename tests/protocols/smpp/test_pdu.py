import pytest

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.pdu import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_UDHI,
    DataSm,
    DeliverSm,
    SubmitSm,
    is_response_id,
)
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag


def test_typed_tlv_accessors() -> None:
    pdu = DeliverSm(
        sequence=1,
        esm_class=ESM_CLASS_UDHI | ESM_CLASS_DELIVERY_RECEIPT,
        tlvs=(
            Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, "abc"),
            Tlv.uint(TlvTag.MESSAGE_STATE, 2, 1),
            Tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03\x00\x22"),
            Tlv.uint(TlvTag.USER_MESSAGE_REFERENCE, 513, 2),
            Tlv.uint(TlvTag.SOURCE_PORT, 2948, 2),
            Tlv.uint(TlvTag.DESTINATION_PORT, 9200, 2),
        ),
    )
    assert pdu.receipted_message_id == "abc"
    assert pdu.message_state == 2
    assert pdu.network_error_code == (3, 0x22)
    assert pdu.user_message_reference == 513
    assert (pdu.source_port, pdu.destination_port) == (2948, 9200)
    assert pdu.udhi
    assert pdu.message_type == ESM_CLASS_DELIVERY_RECEIPT
    assert pdu.sar_msg_ref_num is None
    assert pdu.message_payload is None


def test_malformed_network_error_code() -> None:
    pdu = DeliverSm(sequence=1, tlvs=(Tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03"),))
    with pytest.raises(ProtocolError):
        _ = pdu.network_error_code


def test_user_data_prefers_short_message_then_payload() -> None:
    assert SubmitSm(sequence=1, short_message=b"a").user_data == b"a"
    assert SubmitSm(sequence=1, tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"b"),)).user_data == b"b"
    assert DataSm(sequence=1, tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"c"),)).user_data == b"c"
    assert DataSm(sequence=1).user_data == b""


def test_same_fields_different_commands_are_not_equal() -> None:
    submit: object = SubmitSm(sequence=1)
    assert submit != DeliverSm(sequence=1)


def test_response_bit() -> None:
    assert is_response_id(0x80000004)
    assert not is_response_id(0x00000004)
