"""The SMPP 3.4 SMSC dialect.

- Binds: bind_transmitter, bind_receiver, bind_transceiver; a wrong system_id or password gets
  ESME_RINVPASWD, a second bind on one connection ESME_RALYBND.
- submit_sm (and data_sm) are answered with a message id: ten upper-case hex digits, or ten
  decimal digits with id_format "dec". Throttling answers ESME_RTHROTTLED, a submit on a receiver
  session ESME_RINVBNDSTS, unusable content ESME_RSUBMITFAIL.
- Long messages are understood with a concatenation UDH, the sar_* TLVs or message_payload (the
  last is one message with one id).
- registered_delivery 1 asks for a receipt, 2 for a receipt on failure only.
- Receipts are deliver_sm with esm_class 0x04, the Appendix B text in short_message (the message
  text quoted only when it is ASCII), and the receipted_message_id and message_state TLVs.
- MO are deliver_sm in GSM 7-bit when the text allows, else UCS-2, long ones with a UDH.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from typing import ClassVar

from smsplatform.protocols.concat import ConcatInfo, parse_concat
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.link.smpp import SmppFraming
from smsplatform.protocols.smpp import responses
from smsplatform.protocols.smpp.coding import data_coding_for, encoding_for
from smsplatform.protocols.smpp.frames import ShortMessageFramer, message_response_frame
from smsplatform.protocols.smpp.pdu import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_UDHI,
    REGISTERED_DELIVERY_ALWAYS,
    REGISTERED_DELIVERY_ON_FAILURE,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    DataSm,
    DataSmResp,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)
from smsplatform.protocols.smpp.pdu import (
    BindRequest as SmppBindRequest,
)
from smsplatform.protocols.smpp.receipt import receipt_text
from smsplatform.protocols.smpp.status import CommandStatus
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag, encode_cstring_tlv, encode_tlvs
from smsplatform.protocols.text import TextEncoding, can_encode
from smsplatform.simulator.dialect import (
    BindRequest,
    BindStatus,
    Outgoing,
    Receipt,
    SmscDialect,
    SubmitRequest,
    SubmitStatus,
)
from smsplatform.simulator.rules import MESSAGE_STATES
from smsplatform.simulator.runner import register_dialect

SYSTEM_ID = "SMSPLATFORM"

_BIND_RESPONSES: dict[int, type[BindTransceiverResp | BindTransmitterResp | BindReceiverResp]] = {
    CommandId.BIND_TRANSCEIVER: BindTransceiverResp,
    CommandId.BIND_TRANSMITTER: BindTransmitterResp,
    CommandId.BIND_RECEIVER: BindReceiverResp,
}
_BIND_STATUS = {
    BindStatus.OK: CommandStatus.ESME_ROK,
    BindStatus.BAD_CREDENTIALS: CommandStatus.ESME_RINVPASWD,
    BindStatus.ALREADY_BOUND: CommandStatus.ESME_RALYBND,
}
_SUBMIT_STATUS = {
    SubmitStatus.OK: CommandStatus.ESME_ROK,
    SubmitStatus.THROTTLED: CommandStatus.ESME_RTHROTTLED,
    SubmitStatus.NOT_BOUND: CommandStatus.ESME_RINVBNDSTS,
    SubmitStatus.INVALID: CommandStatus.ESME_RSUBMITFAIL,
}

# Receipts differ from each other only in their addresses, text and optional parameters.
_RECEIPTS = ShortMessageFramer(DeliverSm(sequence=0))
_MESSAGE_STATE_TLVS = {
    stat: encode_tlvs((Tlv.uint(TlvTag.MESSAGE_STATE, state, 1),)) for stat, state in MESSAGE_STATES.items()
}


class SmppDialect(SmscDialect[Pdu]):
    """See the module docstring."""

    protocol: ClassVar[str] = "smpp"

    def __init__(self, *, id_format: str = "hex") -> None:
        super().__init__(id_format=id_format)
        self.framing = SmppFraming(LinkEnd.SMSC)
        self._minute = -1
        self._minute_text = ""

    def reject(self, pdu: Pdu) -> Pdu | None:
        response = responses.response_class(pdu.command_id)
        if response is None:
            return GenericNack(sequence=pdu.sequence, command_status=CommandStatus.ESME_RINVCMDID)
        return response(sequence=pdu.sequence, command_status=CommandStatus.ESME_RINVBNDSTS)

    def read_bind(self, pdu: Pdu) -> BindRequest:
        if not isinstance(pdu, SmppBindRequest):
            raise ProtocolError(f"{type(pdu).__name__} is not a bind")
        return BindRequest(
            system_id=pdu.system_id,
            password=pdu.password,
            transmits=isinstance(pdu, BindTransmitter | BindTransceiver),
            receives=isinstance(pdu, BindReceiver | BindTransceiver),
        )

    def bind_response(self, pdu: Pdu, status: BindStatus) -> Pdu:
        response = _BIND_RESPONSES[pdu.command_id]
        system_id = SYSTEM_ID if status is BindStatus.OK else ""
        return response(sequence=pdu.sequence, command_status=_BIND_STATUS[status], system_id=system_id)

    def read_submit(self, pdu: Pdu) -> SubmitRequest:
        if not isinstance(pdu, SubmitSm | DataSm):
            raise ProtocolError(f"{type(pdu).__name__} is not a submit")
        user_data = pdu.user_data
        concat: ConcatInfo | None = None
        if pdu.udhi:
            concat, user_data = parse_concat(user_data)
        elif pdu.tlvs:  # perhaps the sar_* TLVs
            ref, total, seq = pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum
            if ref is not None and total is not None and seq is not None and 1 <= seq <= total:
                concat = ConcatInfo(ref=ref, total=total, seq=seq)
        if concat is not None and concat.total == 1:
            concat = None
        wanted = pdu.registered_delivery & 0x03
        return SubmitRequest(
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            text_bytes=user_data,
            encoding=encoding_for(pdu.data_coding),
            concat=concat,
            want_receipt=wanted in (REGISTERED_DELIVERY_ALWAYS, REGISTERED_DELIVERY_ON_FAILURE),
            failure_receipt_only=wanted == REGISTERED_DELIVERY_ON_FAILURE,
        )

    def submit_response(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> Pdu:
        response = DataSmResp if isinstance(pdu, DataSm) else SubmitSmResp
        return response(sequence=pdu.sequence, command_status=_SUBMIT_STATUS[status], message_id=message_id)

    def submit_response_frame(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> bytes:
        response = CommandId.DATA_SM_RESP if isinstance(pdu, DataSm) else CommandId.SUBMIT_SM_RESP
        frame = message_response_frame(response, _SUBMIT_STATUS[status], pdu.sequence, message_id)
        return super().submit_response_frame(pdu, message_id, status) if frame is None else frame

    def message_id(self, number: int) -> str:
        return f"{number:010X}" if self.id_format == "hex" else f"{number:010d}"

    def mo_encoding(self, text: str) -> TextEncoding:
        return TextEncoding.GSM7 if can_encode(text, TextEncoding.GSM7) else TextEncoding.UCS2

    def deliver(self, sequence: int, item: Outgoing) -> Pdu:
        if isinstance(item, Receipt):
            return self._receipt(sequence, item)
        return DeliverSm(
            sequence=sequence,
            source_addr=item.source,
            destination_addr=item.destination,
            esm_class=ESM_CLASS_UDHI if item.udhi else 0,
            data_coding=data_coding_for(item.encoding),
            short_message=item.payload,
        )

    def deliver_frame(self, sequence: int, item: Outgoing) -> tuple[Hashable, bytes]:
        if isinstance(item, Receipt):
            frame = self._receipt_frame(sequence, item)
            if frame is not None:
                return sequence, frame
        return super().deliver_frame(sequence, item)

    def _receipt(self, sequence: int, item: Receipt) -> DeliverSm:
        return DeliverSm(
            sequence=sequence,
            source_addr=item.destination,
            destination_addr=item.source,
            esm_class=ESM_CLASS_DELIVERY_RECEIPT,
            short_message=self._receipt_text(item),
            tlvs=(
                Tlv.cstring(TlvTag.RECEIPTED_MESSAGE_ID, item.message_id),
                Tlv.uint(TlvTag.MESSAGE_STATE, MESSAGE_STATES[item.stat], 1),
            ),
        )

    def _receipt_frame(self, sequence: int, item: Receipt) -> bytes | None:
        """`_receipt`, encoded without building it; None when only the PDU can say what is wrong."""
        state = _MESSAGE_STATE_TLVS.get(item.stat)
        if state is None:
            return None
        try:
            tlvs = encode_cstring_tlv(TlvTag.RECEIPTED_MESSAGE_ID, item.message_id) + state
        except ValueError:
            return None
        return _RECEIPTS.frame(
            sequence,
            item.destination,
            item.source,
            ESM_CLASS_DELIVERY_RECEIPT,
            0,
            0,
            self._receipt_text(item),
            tlvs,
        )

    def _receipt_text(self, item: Receipt) -> bytes:
        quoted = item.text_head if item.text_head.isascii() else ""
        text = receipt_text(
            id=item.message_id,
            stat=item.stat,
            sub="001",
            dlvrd="001" if item.stat == "DELIVRD" else "000",
            submit_date=self._date(item.submit_time),
            done_date=self._date(item.done_time),
            err=item.err,
            text=quoted,
        )
        return text.encode("ascii", "replace")[:254]

    def _date(self, unix: float) -> str:
        """YYMMDDhhmm in local time, computed once a minute (receipts come by the thousand)."""
        minute = int(unix // 60)
        if minute != self._minute:
            self._minute = minute
            self._minute_text = time.strftime("%y%m%d%H%M", time.localtime(minute * 60))
        return self._minute_text

    def deliver_accepted(self, pdu: Pdu) -> bool:
        return pdu.command_status == 0 and pdu.command_id != CommandId.GENERIC_NACK

    def link_test(self, sequence: int) -> Pdu:
        return EnquireLink(sequence=sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return EnquireLinkResp(sequence=pdu.sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return UnbindResp(sequence=pdu.sequence)


def _create(options: Mapping[str, str]) -> SmppDialect:
    return SmppDialect(id_format=options.get("id_format", "hex"))


register_dialect("smpp", _create)
