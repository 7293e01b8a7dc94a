"""Turning one text into the submit_sm PDUs that carry it.

SMSCs differ in how they want long messages, so all three ways SMPP offers are here: a user data
header in each segment (the common one), the sar_* TLVs with the SMSC adding the header, or the
whole text in one message_payload TLV for the SMSC to split.
"""

from dataclasses import replace
from enum import StrEnum

from smsplatform.protocols.concat import CONCAT_UDH_LENGTH, segment_count, split_for_sms
from smsplatform.protocols.smpp.coding import choose_data_coding, data_coding_for
from smsplatform.protocols.smpp.pdu import ESM_CLASS_UDHI, SubmitSm
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag
from smsplatform.protocols.text import TextEncoding, encode_text


class LongMessageMode(StrEnum):
    UDH = "udh"
    SAR = "sar"
    PAYLOAD = "payload"


def build_submit_sms(
    text: str,
    template: SubmitSm,
    *,
    ref: int,
    encoding: TextEncoding | None = None,
    data_coding: int | None = None,
    mode: LongMessageMode = LongMessageMode.UDH,
) -> list[SubmitSm]:
    """The submit_sm PDUs for `text`, each a copy of `template` with the user data filled in.

    `encoding` defaults to GSM7 when the text allows it, else UCS2; `data_coding` defaults to the
    encoding's value, and may be set for SMSCs that read e.g. 0 as Latin-1. `ref` is a per-link
    counter; it is reduced to 8 bits for UDH and 16 bits for SAR. The template's sequence is
    copied as is: the link stamps each PDU's own when it sends it. `ValueError` when the text
    cannot be encoded or is too long.
    """
    if encoding is None:
        chosen_coding, encoding = choose_data_coding(text)
    else:
        chosen_coding = data_coding_for(encoding)
    base = replace(template, data_coding=chosen_coding if data_coding is None else data_coding)
    if mode is LongMessageMode.PAYLOAD:
        return [_as_payload(base, text, encoding)]
    payloads = split_for_sms(text, encoding, ref & 0xFF)
    if len(payloads) == 1:
        return [replace(base, short_message=payloads[0])]
    if mode is LongMessageMode.UDH:
        return [replace(base, esm_class=base.esm_class | ESM_CLASS_UDHI, short_message=p) for p in payloads]
    total = len(payloads)
    return [
        replace(
            base,
            short_message=payload[CONCAT_UDH_LENGTH:],
            tlvs=(
                *base.tlvs,
                Tlv.uint(TlvTag.SAR_MSG_REF_NUM, ref & 0xFFFF, 2),
                Tlv.uint(TlvTag.SAR_TOTAL_SEGMENTS, total, 1),
                Tlv.uint(TlvTag.SAR_SEGMENT_SEQNUM, seq, 1),
            ),
        )
        for seq, payload in enumerate(payloads, start=1)
    ]


def _as_payload(base: SubmitSm, text: str, encoding: TextEncoding) -> SubmitSm:
    user_data = encode_text(text, encoding)
    if segment_count(text, encoding) == 1:
        return replace(base, short_message=user_data)
    return replace(base, short_message=b"", tlvs=(*base.tlvs, Tlv(TlvTag.MESSAGE_PAYLOAD, user_data)))
