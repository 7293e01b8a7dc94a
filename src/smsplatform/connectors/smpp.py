"""SMPP 3.4 on the shared link engine.

Options in ConnectorConfig.extra (all optional):

- `system_type`, `address_range`: sent in the bind.
- `source_ton`, `source_npi`, `dest_ton`, `dest_npi`: address types (defaults 0/1 and 0/1, i.e.
  unknown type, ISDN plan, which SMSCs accept for national numbers).
- `service_type`: put in every submit_sm.
- `encoding`: "auto" (GSM 7-bit when the text allows, else UCS-2; the default), or a fixed one of
  gsm7, ascii, latin1, ucs2, gbk (texts it cannot carry go as UCS-2).
- `data_coding`: a number to send instead of the encoding's own value (SMSCs that read 0 as Latin-1).
- `long_message`: "udh" (the default: a concatenation header in each segment), "sar" (sar_* TLVs)
  or "payload" (the whole text in message_payload; the SMSC splits it and gives one id).
- `id_base`: "hex" or "dec" when the SMSC's message ids are numbers; ids are then canonicalised
  (upper-case hex or decimal, no leading zeros) so receipts match whatever padding they use.
  Unset, ids are opaque text compared as given.
- `receipt_id_base`: the base of the id in receipt *text* when it differs from `id_base` (some
  SMSCs answer with hex ids and write them in decimal in the receipt). The receipted_message_id
  TLV, when present, is taken to be in `id_base`, as the spec says.

Bind mode: ConnectorConfig.bind_mode transceiver (default) or a transmitter + receiver pair.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

from smsplatform.connectors.adapter import (
    AckStatus,
    BindResult,
    Delivery,
    ProtocolAdapter,
    RequestFrame,
    SegmentAnswer,
    SessionRole,
)
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import register_adapter
from smsplatform.protocols.concat import split_for_sms
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.link.smpp import SmppFraming
from smsplatform.protocols.smpp import codec, responses
from smsplatform.protocols.smpp.coding import DataCoding, choose_data_coding, data_coding_for
from smsplatform.protocols.smpp.frames import ShortMessageFramer, message_response_frame
from smsplatform.protocols.smpp.pdu import (
    ESM_CLASS_UDHI,
    REGISTERED_DELIVERY_ALWAYS,
    REGISTERED_DELIVERY_NONE,
    BindReceiver,
    BindResponse,
    BindTransceiver,
    BindTransmitter,
    CommandId,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smsplatform.protocols.smpp.reassembly import Reassembler
from smsplatform.protocols.smpp.receipt import (
    STAT_FOR_STATE,
    Receipt,
    is_receipt,
    parse_receipt,
    receipt_from_pdu,
)
from smsplatform.protocols.smpp.segmenting import LongMessageMode, build_submit_sms
from smsplatform.protocols.smpp.status import CommandStatus, is_transient_status, status_name
from smsplatform.protocols.text import TextEncoding, can_encode

log = logging.getLogger(__name__)

_BINDS: dict[SessionRole, type[BindTransceiver | BindTransmitter | BindReceiver]] = {
    SessionRole.TRANSCEIVER: BindTransceiver,
    SessionRole.TRANSMITTER: BindTransmitter,
    SessionRole.RECEIVER: BindReceiver,
}
_ACK_STATUS = {
    AckStatus.OK: CommandStatus.ESME_ROK,
    AckStatus.RETRY: CommandStatus.ESME_RX_T_APPN,
    AckStatus.REJECT: CommandStatus.ESME_RX_P_APPN,
}
# The Appendix B receipt text as most SMSCs (and our simulator) write it.
# (ASCII classes: run on the octets read as Latin-1, it matches exactly what it would on the octets.)
_APPENDIX_B = re.compile(
    r"id:(\S+) sub:\d* dlvrd:\d* submit date:(\d*) done date:(\d*) stat:([A-Z]{7}) err:(\w*)", re.ASCII
)
_STATS = frozenset(STAT_FOR_STATE.values())
_STAT_OF_STATE = {int(state): stat for state, stat in STAT_FOR_STATE.items()}
_ASCII_CODINGS = frozenset({DataCoding.SMSC_DEFAULT, DataCoding.IA5, DataCoding.LATIN1})
_REASSEMBLY_SWEEP = 60.0  # seconds between looks for MO sets that will never complete


class SmppAdapter(ProtocolAdapter[Pdu]):
    """The SMPP 3.4 ESME side. See the module docstring for its options."""

    protocol: ClassVar[str] = "smpp"
    link_test_name: ClassVar[str] = "enquire_link"
    default_response_timeout: ClassVar[float] = 30.0
    default_enquire_interval: ClassVar[float] = 30.0

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.framing = SmppFraming(LinkEnd.ESME)
        extra = config.extra
        self._template = SubmitSm(
            sequence=0,
            service_type=extra.get("service_type", ""),
            source_addr_ton=int(extra.get("source_ton", "0")),
            source_addr_npi=int(extra.get("source_npi", "1")),
            dest_addr_ton=int(extra.get("dest_ton", "0")),
            dest_addr_npi=int(extra.get("dest_npi", "1")),
        )
        encoding = extra.get("encoding", "auto")
        self._encoding = None if encoding == "auto" else TextEncoding(encoding)
        data_coding = extra.get("data_coding")
        self._data_coding = int(data_coding, 0) if data_coding else None
        self._long_mode = LongMessageMode(extra.get("long_message", LongMessageMode.UDH))
        self._id_base = _base(extra.get("id_base", ""))
        self._receipt_id_base = _base(extra.get("receipt_id_base", "")) or self._id_base
        self._ref = random.randrange(0x10000)
        self._framer = self._submit_framer()
        self._mo = Reassembler()
        self._next_sweep = time.monotonic() + _REASSEMBLY_SWEEP

    def _submit_framer(self) -> ShortMessageFramer | None:
        """Writes the submits of the usual long-message mode; None leaves them all to the codec."""
        if self._long_mode is not LongMessageMode.UDH:
            return None
        try:
            return ShortMessageFramer(self._template)
        except ValueError:  # e.g. a service_type too long: each submit is refused with the codec's reason
            return None

    # -- framing --------------------------------------------------------------------------------

    def reject(self, pdu: Pdu) -> Pdu | None:
        if pdu.command_id == CommandId.OUTBIND:
            return None  # outbind has no response; we bind on our own schedule
        response = responses.response_class(pdu.command_id)
        if response is None:
            return GenericNack(sequence=pdu.sequence, command_status=CommandStatus.ESME_RINVCMDID)
        return response(sequence=pdu.sequence, command_status=CommandStatus.ESME_RINVBNDSTS)

    # -- login, heartbeat, logout ---------------------------------------------------------------

    def bind_request(self, role: SessionRole, sequence: int) -> Pdu:
        extra = self.config.extra
        return _BINDS[role](
            sequence=sequence,
            system_id=self.config.system_id,
            password=self.config.password,
            system_type=extra.get("system_type", ""),
            address_range=extra.get("address_range", ""),
        )

    def bind_result(self, pdu: Pdu) -> BindResult:
        if pdu.command_status == 0 and isinstance(pdu, BindResponse):
            return BindResult(True)
        status = pdu.command_status or CommandStatus.ESME_RSYSERR  # an "OK" that is no bind response
        return BindResult(False, f"status {_status_text(status)} ({_bind_status_text(status)})")

    def link_test(self, sequence: int) -> Pdu:
        return EnquireLink(sequence=sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return EnquireLinkResp(sequence=pdu.sequence)

    def unbind(self, sequence: int) -> Pdu:
        return Unbind(sequence=sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return UnbindResp(sequence=pdu.sequence)

    # -- traffic --------------------------------------------------------------------------------

    def build_submits(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[Pdu]:
        if self._long_mode is not LongMessageMode.UDH:
            data_coding, encoding = self._coding(sms.text)
            self._ref = (self._ref + 1) & 0xFFFF
            template = replace(
                self._template,
                source_addr=sms.source,
                destination_addr=sms.destination,
                registered_delivery=_registered(sms),
            )
            pdus = build_submit_sms(
                sms.text,
                template,
                ref=self._ref,
                encoding=encoding,
                data_coding=data_coding,
                mode=self._long_mode,
            )
            return [replace(pdu, sequence=next_sequence()) for pdu in pdus]
        payloads, esm_class, data_coding = self._udh_segments(sms)
        return [
            self._submit_sm(next_sequence(), sms, esm_class, data_coding, payload) for payload in payloads
        ]

    def submit_frames(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[RequestFrame]:
        framer = self._framer
        if framer is None:
            return super().submit_frames(sms, next_sequence)
        payloads, esm_class, data_coding = self._udh_segments(sms)
        registered = _registered(sms)
        frames: list[RequestFrame] = []
        for payload in payloads:
            sequence = next_sequence()
            frame = framer.frame(
                sequence, sms.source, sms.destination, esm_class, registered, data_coding, payload
            )
            if frame is None:  # something the wire may not carry: the codec says what
                frame = codec.encode(self._submit_sm(sequence, sms, esm_class, data_coding, payload))
            frames.append((sequence, frame))
        return frames

    def _coding(self, text: str) -> tuple[int, TextEncoding]:
        """The data_coding to send `text` with, and the encoding that goes with it."""
        encoding = self._encoding
        if encoding is None:
            return choose_data_coding(text)
        if can_encode(text, encoding):
            return data_coding_for(encoding) if self._data_coding is None else self._data_coding, encoding
        return DataCoding.UCS2, TextEncoding.UCS2

    def _udh_segments(self, sms: OutboundSms) -> tuple[list[bytes], int, int]:
        """(user data of each segment, esm_class, data_coding) with a concatenation header when long."""
        data_coding, encoding = self._coding(sms.text)
        self._ref = (self._ref + 1) & 0xFFFF
        payloads = split_for_sms(sms.text, encoding, self._ref & 0xFF)
        return payloads, ESM_CLASS_UDHI if len(payloads) > 1 else 0, data_coding

    def _submit_sm(
        self, sequence: int, sms: OutboundSms, esm_class: int, data_coding: int, payload: bytes
    ) -> SubmitSm:
        base = self._template
        return SubmitSm(
            sequence=sequence,
            service_type=base.service_type,
            source_addr_ton=base.source_addr_ton,
            source_addr_npi=base.source_addr_npi,
            source_addr=sms.source,
            dest_addr_ton=base.dest_addr_ton,
            dest_addr_npi=base.dest_addr_npi,
            destination_addr=sms.destination,
            esm_class=esm_class,
            registered_delivery=_registered(sms),
            data_coding=data_coding,
            short_message=payload,
        )

    def read_submit_response(self, pdu: Pdu) -> SegmentAnswer:
        status = pdu.command_status
        if status == 0 and isinstance(pdu, SubmitSmResp):
            return SegmentAnswer(True, self._canonical(pdu.message_id, self._id_base))
        if status == 0:  # a generic_nack or a stray response claiming success: not an acceptance
            status = CommandStatus.ESME_RSYSERR
        return SegmentAnswer(False, "", is_transient_status(status), _status_text(status))

    def read_deliver(self, pdu: Pdu) -> Delivery:
        if not isinstance(pdu, DeliverSm | DataSm):
            raise ProtocolError(f"{type(pdu).__name__} is not a deliver")
        report = self._read_receipt(pdu)
        if report is not None:
            return Delivery(report=report)
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + _REASSEMBLY_SWEEP
            for lost in self._mo.expire(now):
                log.warning(
                    "%s: dropped an incomplete MO from %s (%d parts)",
                    self.config.name,
                    lost.source_addr,
                    len(lost.parts),
                )
        message = self._mo.feed(pdu, now)
        if message is None:
            return Delivery()
        text = message.text(errors="replace")
        return Delivery(
            inbound=InboundSms(message.source_addr, message.destination_addr, text, self.config.name)
        )

    def deliver_response(self, pdu: Pdu, status: AckStatus) -> Pdu:
        response = DataSmResp if isinstance(pdu, DataSm) else DeliverSmResp
        return response(sequence=pdu.sequence, command_status=_ACK_STATUS[status])

    def deliver_response_frame(self, pdu: Pdu, status: AckStatus) -> bytes:
        response = CommandId.DATA_SM_RESP if isinstance(pdu, DataSm) else CommandId.DELIVER_SM_RESP
        frame = message_response_frame(response, _ACK_STATUS[status], pdu.sequence)
        return super().deliver_response_frame(pdu, status) if frame is None else frame

    def _read_receipt(self, pdu: DeliverSm | DataSm) -> DeliveryReport | None:
        """The report in `pdu`, None when it is an MO; ProtocolError when it names nothing."""
        if not is_receipt(pdu):
            return None
        receipt: Receipt | None = None
        if pdu.data_coding in _ASCII_CODINGS:
            text = pdu.user_data.decode("latin-1")
            match = _APPENDIX_B.match(text)
            if match is not None and match[4] in _STATS:
                # Nearly every receipt: read straight into the report.
                text_id, submit_date, done_date, stat, err = match.groups()
                return self._report(pdu, text_id, stat, err, submit_date, done_date)
            receipt = _ascii_receipt(pdu, text)
        if receipt is None:
            receipt = receipt_from_pdu(pdu)  # TLVs only, or text in another coding
            if receipt is None:
                return None
        return self._report(
            pdu, receipt.id, receipt.stat, receipt.err, receipt.submit_date, receipt.done_date
        )

    def _report(
        self, pdu: DeliverSm | DataSm, text_id: str, stat: str, err: str, submit_date: str, done_date: str
    ) -> DeliveryReport:
        tlv_id = pdu.receipted_message_id
        if tlv_id:
            remote_id = self._canonical(tlv_id, self._id_base)
        else:
            remote_id = self._canonical(text_id, self._receipt_id_base)
        return DeliveryReport(
            remote_id=remote_id,
            stat=stat.upper(),
            err=err,
            destination=pdu.source_addr,  # a receipt comes from the handset the message went to
            submit_time=submit_date,
            done_time=done_date,
            connector=self.config.name,
        )

    # -- ids ------------------------------------------------------------------------------------

    def _canonical(self, message_id: str, base: str) -> str:
        """The form ids are compared in: see `id_base` in the module docstring."""
        raw = message_id.strip()
        if not self._id_base or not raw:
            return raw
        try:
            value = int(raw, 16 if base == "hex" else 10)
        except ValueError:
            return raw
        return f"{value:X}" if self._id_base == "hex" else str(value)


def _ascii_receipt(pdu: DeliverSm | DataSm, text: str) -> Receipt | None:
    """Receipt `text` (the octets as Latin-1) in a layout other than the usual one.

    Receipt text is read as ASCII, which is what SMSCs write whatever data_coding says (read as GSM
    7-bit, "submit_date" would become "submit§date"). The usual Appendix B layout is taken with one
    anchored regex before this is called; other layouts go through the forgiving parser. None when
    the text says nothing usable.
    """
    try:
        receipt = parse_receipt(text)
    except ProtocolError:
        return None
    state = pdu.message_state
    if receipt.state is None and state is not None and state in _STAT_OF_STATE:
        receipt = replace(receipt, stat=_STAT_OF_STATE[state])  # the TLV names what the text did not
    return receipt


def _registered(sms: OutboundSms) -> int:
    return REGISTERED_DELIVERY_ALWAYS if sms.want_receipt else REGISTERED_DELIVERY_NONE


def _base(value: str) -> str:
    if value not in ("", "hex", "dec"):
        raise ValueError(f"an id base is 'hex' or 'dec', not {value!r}")
    return value


def _status_text(status: int) -> str:
    return f"0x{status:08X}"


# What the statuses a bind may be refused with mean (spec Table 5-2), for the operator reading why a
# link does not come up.
_BIND_STATUS_TEXT: dict[int, str] = {
    CommandStatus.ESME_RINVPASWD: "invalid password",
    CommandStatus.ESME_RINVSYSID: "invalid system_id",
    CommandStatus.ESME_RBINDFAIL: "bind failed",
    CommandStatus.ESME_RALYBND: "already in bound state",
    CommandStatus.ESME_RINVSYSTYP: "invalid system_type",
    CommandStatus.ESME_RSYSERR: "system error",
    CommandStatus.ESME_RINVCMDLEN: "invalid command length",
    CommandStatus.ESME_RINVCMDID: "invalid command id",
    CommandStatus.ESME_RINVBNDSTS: "incorrect bind status for the command",
    CommandStatus.ESME_RTHROTTLED: "throttled",
    CommandStatus.ESME_RX_T_APPN: "temporary application error",
    CommandStatus.ESME_RUNKNOWNERR: "unknown error",
}


def _bind_status_text(status: int) -> str:
    text = _BIND_STATUS_TEXT.get(status)
    if text is not None:
        return text
    return status_name(status) if status < 0x400 else "vendor-specific error"


register_adapter("smpp", SmppAdapter)
