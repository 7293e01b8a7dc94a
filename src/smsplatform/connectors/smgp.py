"""SMGP 3.0 (China Telecom) on the shared link engine.

One connection logs in with LoginMode 2 (send and receive); with bind_mode transmitter_receiver
there are two, in modes 0 and 1. ClientID is config.system_id (at most 8 characters), the shared
secret config.password; the gateway's AuthenticatorServer is checked against it, so a gateway
that does not know the secret is not trusted with messages.

Options in ConnectorConfig.extra (all optional):

- `service_id`: ServiceID of every Submit (default empty).
- `encoding`: "auto" (the default: ASCII text as MsgFormat 0, anything else as UCS-2, 8), "gbk"
  (non-ASCII text as GB, 15, which Telecom gateways prefer; text GBK cannot carry goes as UCS-2)
  or "ucs2" (every text as UCS-2).
- `fee_type`, `fee_code`, `fixed_fee`: billing fields (defaults "00", "000000", "000000": free).
- `priority`: 0-3 (default 1).
- `verify_server`: "0" to accept a Login_Resp whose AuthenticatorServer is wrong (gateways that
  send zeros); checked by default.

Long messages carry the 6-octet concatenation header in MsgContent, with the TP_udhi, PkTotal and
PkNumber TLVs. Remote ids are the MsgIDs' 20-digit text (`msgid.format_msg_id`), in Submit_Resp
and status reports alike. Error texts are the Status in decimal, as the specification lists them.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, Final

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
from smsplatform.protocols.concat import parse_concat, split_for_sms
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.link.smgp import SmgpFraming
from smsplatform.protocols.reassembly import Reassembler
from smsplatform.protocols.smgp import codec, defaults, responses
from smsplatform.protocols.smgp.auth import client_authenticator, login_timestamp, verify_server_authenticator
from smsplatform.protocols.smgp.frames import SubmitFramer, answer_frame, encoded_tlvs
from smsplatform.protocols.smgp.msgid import format_msg_id
from smsplatform.protocols.smgp.pdu import (
    MSG_ID_LENGTH,
    ActiveTest,
    ActiveTestResp,
    CommandId,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginMode,
    LoginResp,
    MsgFormat,
    MsgType,
    Pdu,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.smgp.report import report_fields
from smsplatform.protocols.smgp.status import Status, is_transient_status
from smsplatform.protocols.smgp.tlv import Tlv, TlvTag, udhi_tlv
from smsplatform.protocols.text import TextEncoding, can_encode

log = logging.getLogger(__name__)

_LOGIN_MODES: Final = {
    SessionRole.TRANSCEIVER: LoginMode.TRANSMIT,
    SessionRole.TRANSMITTER: LoginMode.SEND,
    SessionRole.RECEIVER: LoginMode.RECEIVE,
}
_ACK_STATUS: Final = {
    AckStatus.OK: Status.OK,
    AckStatus.RETRY: Status.SYSTEM_BUSY,
    AckStatus.REJECT: Status.MESSAGE_STRUCTURE_ERROR,
}
_ENCODINGS: Final = ("auto", "gbk", "ucs2")
_UDHI: Final = udhi_tlv()
_NO_MSG_ID: Final = bytes(MSG_ID_LENGTH)  # in the answer to a PDU that is not a Deliver
_RECENT_LOGINS: Final = 8  # AuthenticatorClients remembered to check the gateway's answer against


class SmgpAdapter(ProtocolAdapter[Pdu]):
    """The SP side of SMGP 3.0. See the module docstring for its options."""

    protocol: ClassVar[str] = "smgp"
    link_test_name: ClassVar[str] = "Active_Test"
    default_response_timeout: ClassVar[float] = float(defaults.RESPONSE_TIMEOUT_SECONDS)
    default_response_tries: ClassVar[int] = defaults.MAX_ATTEMPTS
    default_enquire_interval: ClassVar[float] = float(defaults.ACTIVE_TEST_INTERVAL_SECONDS)

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.framing = SmgpFraming(LinkEnd.ESME)
        extra = config.extra
        encoding = extra.get("encoding", "auto")
        if encoding not in _ENCODINGS:
            raise ValueError(f"SMGP encoding is one of {', '.join(_ENCODINGS)}, not {encoding!r}")
        self._encoding = encoding
        self._service_id = extra.get("service_id", "")
        self._fee_type = extra.get("fee_type", "00")
        self._fee_code = extra.get("fee_code", "000000")
        self._fixed_fee = extra.get("fixed_fee", "000000")
        self._priority = int(extra.get("priority", "1"))
        self._verify_server = extra.get("verify_server", "1") not in ("0", "false", "no")
        # The engine hands bind_result only the response; a Login_Resp is checked against the
        # digests of our recent Logins (a transmitter and a receiver may log in at once).
        self._logins: deque[bytes] = deque(maxlen=_RECENT_LOGINS)
        self._ref = random.randrange(0x100)
        self._mo: Reassembler[tuple[int, bytes]] = Reassembler()
        self._framer = self._submit_framer()

    def _submit_framer(self) -> SubmitFramer | None:
        """Writes submits with this link's fixed fields; None leaves them all to the codec."""
        try:
            return SubmitFramer(self._submit(0, 0, MsgFormat.ASCII, "", "", b"", ()))
        except ValueError:  # e.g. a service_id too long: each submit is refused with the codec's reason
            return None

    # -- framing --------------------------------------------------------------------------------

    def reject(self, pdu: Pdu) -> Pdu | None:
        return responses.response_for(pdu.command_id, pdu.sequence, Status.COMMAND_ERROR)

    # -- login, heartbeat, logout ---------------------------------------------------------------

    def bind_request(self, role: SessionRole, sequence: int) -> Pdu:
        timestamp = login_timestamp(datetime.now())
        authenticator = client_authenticator(self.config.system_id, self.config.password, timestamp)
        self._logins.append(authenticator)
        return Login(
            sequence,
            client_id=self.config.system_id,
            authenticator_client=authenticator,
            login_mode=_LOGIN_MODES[role],
            timestamp=timestamp,
        )

    def bind_result(self, pdu: Pdu) -> BindResult:
        if not isinstance(pdu, LoginResp):
            return BindResult(False, f"unexpected {type(pdu).__name__}")
        if pdu.status != Status.OK:
            return BindResult(False, f"status {int(pdu.status)} ({_status_meaning(pdu.status)})")
        if self._verify_server and not any(
            verify_server_authenticator(pdu.status, sent, self.config.password, pdu.authenticator_server)
            for sent in self._logins
        ):
            return BindResult(False, "AuthenticatorServer does not match the shared secret")
        return BindResult(True)

    def link_test(self, sequence: int) -> Pdu:
        return ActiveTest(sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return ActiveTestResp(pdu.sequence)

    def unbind(self, sequence: int) -> Pdu:
        return Exit(sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return ExitResp(pdu.sequence)

    # -- traffic --------------------------------------------------------------------------------

    def build_submits(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[Pdu]:
        msg_format, payloads = self._segments(sms.text)
        total = len(payloads)
        need_report = int(sms.want_receipt)
        return [
            self._submit(
                next_sequence(),
                need_report,
                msg_format,
                sms.source,
                sms.destination,
                payload,
                _long_tlvs(total, number) if total > 1 else (),
            )
            for number, payload in enumerate(payloads, start=1)
        ]

    def submit_frames(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[RequestFrame]:
        framer = self._framer
        if framer is None:
            return super().submit_frames(sms, next_sequence)
        msg_format, payloads = self._segments(sms.text)
        total = len(payloads)
        need_report = int(sms.want_receipt)
        source, destination = sms.source, sms.destination
        frames: list[RequestFrame] = []
        for number, payload in enumerate(payloads, start=1):
            sequence = next_sequence()
            tlvs = _long_tlv_octets(total, number) if total > 1 else b""
            frame = framer.frame(sequence, need_report, msg_format, source, destination, payload, tlvs)
            if frame is None:  # something the wire may not carry: the codec says what
                long_tlvs = _long_tlvs(total, number) if total > 1 else ()
                submit = self._submit(
                    sequence, need_report, msg_format, source, destination, payload, long_tlvs
                )
                frame = codec.encode(submit)
            frames.append((sequence, frame))
        return frames

    def _segments(self, text: str) -> tuple[int, list[bytes]]:
        """MsgFormat for `text`, and the MsgContent of each segment, with a concatenation header when long."""
        msg_format, encoding = self._format_for(text)
        self._ref = (self._ref + 1) & 0xFF
        return msg_format, split_for_sms(text, encoding, self._ref)

    def _submit(
        self,
        sequence: int,
        need_report: int,
        msg_format: int,
        source: str,
        destination: str,
        content: bytes,
        tlvs: tuple[Tlv, ...],
    ) -> Submit:
        return Submit(
            sequence,
            msg_type=MsgType.MT,
            need_report=need_report,
            priority=self._priority,
            service_id=self._service_id,
            fee_type=self._fee_type,
            fee_code=self._fee_code,
            fixed_fee=self._fixed_fee,
            msg_format=msg_format,
            src_term_id=source,
            dest_term_ids=(destination,),
            msg_content=content,
            tlvs=tlvs,
        )

    def _format_for(self, text: str) -> tuple[int, TextEncoding]:
        if self._encoding == "ucs2":
            return MsgFormat.UCS2, TextEncoding.UCS2
        if text.isascii():
            return MsgFormat.ASCII, TextEncoding.ASCII
        if self._encoding == "gbk" and can_encode(text, TextEncoding.GBK):
            return MsgFormat.GB, TextEncoding.GBK
        return MsgFormat.UCS2, TextEncoding.UCS2

    def read_submit_response(self, pdu: Pdu) -> SegmentAnswer:
        if not isinstance(pdu, SubmitResp):
            return SegmentAnswer(False, "", True, f"unexpected {type(pdu).__name__}")
        status = pdu.status
        if status == Status.OK:
            return SegmentAnswer(True, format_msg_id(pdu.msg_id))
        return SegmentAnswer(False, "", is_transient_status(status), str(status))

    def read_deliver(self, pdu: Pdu) -> Delivery:
        if not isinstance(pdu, Deliver):
            raise ProtocolError(f"{type(pdu).__name__} is not a Deliver")
        if pdu.is_report == 1:
            msg_id, stat, err, submit_date, done_date = report_fields(pdu.msg_content)
            return Delivery(
                report=DeliveryReport(
                    remote_id=format_msg_id(msg_id),
                    stat=stat.upper(),
                    err=err,
                    destination=pdu.src_term_id,  # a report comes from the handset the message went to
                    submit_time=submit_date,
                    done_time=done_date,
                    connector=self.config.name,
                )
            )
        content = pdu.msg_content
        if pdu.udhi:
            concat, content = parse_concat(content)
            if concat is not None and concat.total > 1:
                key = (pdu.src_term_id, pdu.dest_term_id, concat.ref, concat.total)
                parts = self._mo.add(key, concat.total, concat.seq, (pdu.msg_format, content))
                if parts is None:
                    return Delivery()
                # Joined before decoding: a peer may split a character between two parts.
                text = decode_content(b"".join(part[1] for part in parts), parts[0][0])
                return Delivery(inbound=InboundSms(pdu.src_term_id, pdu.dest_term_id, text, self.config.name))
        text = decode_content(content, pdu.msg_format)
        return Delivery(inbound=InboundSms(pdu.src_term_id, pdu.dest_term_id, text, self.config.name))

    def deliver_response(self, pdu: Pdu, status: AckStatus) -> Pdu:
        if isinstance(pdu, Deliver):
            return DeliverResp(pdu.sequence, msg_id=pdu.msg_id, status=_ACK_STATUS[status])
        return DeliverResp(pdu.sequence, status=_ACK_STATUS[status])

    def deliver_response_frame(self, pdu: Pdu, status: AckStatus) -> bytes:
        msg_id = pdu.msg_id if isinstance(pdu, Deliver) else _NO_MSG_ID
        frame = answer_frame(CommandId.DELIVER_RESP, pdu.sequence, msg_id, _ACK_STATUS[status])
        return super().deliver_response_frame(pdu, status) if frame is None else frame


def decode_content(content: bytes, msg_format: int) -> str:
    """The text of an MO's MsgContent; damaged octets become U+FFFD rather than lose the message.

    GB content is read as GB18030, the superset of GBK that 3.0.3 names. Content marked ASCII with
    octets above 0x7F is read as GB as well: that is the only other text a Telecom gateway carries
    in one-octet units, and a readable reply is worth more than a row of U+FFFD.
    """
    if msg_format == MsgFormat.UCS2:
        return content[: len(content) & ~1].decode("utf-16-be", "replace") + (
            "\ufffd" if len(content) & 1 else ""
        )
    if msg_format == MsgFormat.ASCII and content.isascii():
        return content.decode("ascii")
    if msg_format in (MsgFormat.ASCII, MsgFormat.GB):
        return content.decode("gb18030", "replace")
    return content.decode("latin-1")


_PK_TLVS: dict[tuple[int, int], tuple[Tlv, ...]] = {}  # at most 255 x 255 small tuples
_PK_TLV_OCTETS: dict[tuple[int, int], bytes] = {}  # the same, encoded


def _long_tlvs(total: int, number: int) -> tuple[Tlv, ...]:
    """TP_udhi, PkTotal and PkNumber for segment `number` of `total`, made once per pair."""
    tlvs = _PK_TLVS.get((total, number))
    if tlvs is None:
        tlvs = _PK_TLVS[total, number] = (
            _UDHI,
            Tlv.uint8(TlvTag.PK_TOTAL, total),
            Tlv.uint8(TlvTag.PK_NUMBER, number),
        )
    return tlvs


def _long_tlv_octets(total: int, number: int) -> bytes:
    """`_long_tlvs`, encoded once per pair; ValueError for a pair out of range, as the codec says."""
    octets = _PK_TLV_OCTETS.get((total, number))
    if octets is None:
        octets = _PK_TLV_OCTETS[total, number] = encoded_tlvs(_long_tlvs(total, number))
    return octets


def _status_meaning(status: int) -> str:
    """The spec's name of a Status in words ("authentication error"); 128-255 are the vendor's own."""
    try:
        return Status(status).name.lower().replace("_", " ")
    except ValueError:
        return "vendor-defined" if 128 <= status <= 255 else "reserved"


register_adapter("smgp", SmgpAdapter)
