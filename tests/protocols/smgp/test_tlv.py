import pytest

from smsplatform.protocols.smgp.pdu import Deliver, Submit
from smsplatform.protocols.smgp.tlv import Tlv, TlvTag, find_tlv, link_id_tlv, udhi_tlv


def test_accessors_read_the_tags_the_platform_uses() -> None:
    submit = Submit(
        1,
        tlvs=(
            Tlv(TlvTag.TP_PID, b"\x00"),
            udhi_tlv(),
            Tlv.uint8(TlvTag.PK_TOTAL, 3),
            Tlv.uint8(TlvTag.PK_NUMBER, 2),
            link_id_tlv("tx-42"),
        ),
    )
    assert submit.tp_pid == 0
    assert submit.udhi
    assert (submit.pk_total, submit.pk_number) == (3, 2)
    assert submit.link_id == "tx-42"
    assert find_tlv(submit.tlvs, TlvTag.LINK_ID) == Tlv(TlvTag.LINK_ID, b"tx-42" + bytes(15))


def test_absent_tags_read_as_absent() -> None:
    deliver = Deliver(1, msg_id=bytes(10), tlvs=(Tlv(0x9999, b"?"),))
    assert not deliver.udhi
    assert deliver.pk_total is None
    assert deliver.pk_number is None
    assert deliver.link_id is None
    assert deliver.tp_pid is None


def test_udhi_uses_only_its_lowest_bit_and_tolerates_an_empty_value() -> None:
    assert not Submit(1, tlvs=(Tlv(TlvTag.TP_UDHI, b"\x02"),)).udhi
    assert Submit(1, tlvs=(Tlv(TlvTag.TP_UDHI, b"\x00\x01"),)).udhi
    assert not Submit(1, tlvs=(Tlv(TlvTag.TP_UDHI, b""),)).udhi


def test_the_first_of_a_repeated_tag_wins() -> None:
    assert Submit(1, tlvs=(Tlv.uint8(TlvTag.PK_TOTAL, 2), Tlv.uint8(TlvTag.PK_TOTAL, 5))).pk_total == 2


def test_constructors_refuse_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError):
        Tlv.uint8(TlvTag.PK_TOTAL, 256)
    with pytest.raises(ValueError):
        link_id_tlv("x" * 21)


def test_text_values_are_padded_only_when_the_tag_has_a_width() -> None:
    assert Tlv.text(TlvTag.MSG_SRC, "SP01") == Tlv(TlvTag.MSG_SRC, b"SP01")
    assert Tlv.text(TlvTag.MSG_SRC, "SP01", 8) == Tlv(TlvTag.MSG_SRC, b"SP01\x00\x00\x00\x00")
