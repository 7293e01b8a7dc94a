"""CMPP 2.0/3.0 (China Mobile) on the shared link engine: the SP side of an ISMG link.

Registered as "cmpp" (3.0) and "cmpp2" (2.0). Options in ConnectorConfig.extra (all optional):

- `version`: "3.0" or "2.0", overriding the one the protocol name implies.
- `service_id`: Service_Id of every submit (default "").
- `encoding`: "ucs2" (the default) or "gbk": how text that is not ASCII goes out (Msg_Fmt 8 or 15;
  text GBK cannot carry still goes as UCS-2). ASCII text always goes as Msg_Fmt 0.
- `fee_user_type` (default "0"), `fee_type` (default "01"), `fee_code` (default "000000"): the
  charging fields, for ISMGs that insist on particular values.

Login is CMPP_CONNECT with Source_Addr = system_id (the SP id) and the MD5 digest of the shared
secret (password); an AuthenticatorISMG that does not prove the same secret back fails the bind.
CMPP has no transmitter/receiver split: reports and MO come back on the connection that submits,
so a connector keeps one session whatever its bind_mode. Msg_Ids are kept in their canonical text
form (protocols.cmpp.msgid.format_msg_id), the same in submit results and reports.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Callable, Mapping
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
from smsplatform.protocols.cmpp.auth import authenticator_ismg, authenticator_source, connect_timestamp
from smsplatform.protocols.cmpp.frames import SubmitFramer, message_response_frame
from smsplatform.protocols.cmpp.msgid import format_msg_id
from smsplatform.protocols.cmpp.pdu import (
    ActiveTest,
    ActiveTestResp,
    CmppVersion,
    CommandId,
    Connect,
    ConnectResp,
    ConnectStatus,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    Result,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
    is_transient_result,
)
from smsplatform.protocols.cmpp.report import STAT_DELIVERED, read_report
from smsplatform.protocols.concat import parse_concat, split_for_sms
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.cmpp import CmppFraming
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.reassembly import Reassembler
from smsplatform.protocols.text import TextEncoding, can_encode, decode_text

log = logging.getLogger(__name__)

VERSIONS: Final[Mapping[str, CmppVersion]] = {
    "2.0": CmppVersion.V20,
    "2": CmppVersion.V20,
    "3.0": CmppVersion.V30,
    "3": CmppVersion.V30,
}

_ACK_RESULT: Final[Mapping[AckStatus, int]] = {
    AckStatus.OK: Result.OK,
    AckStatus.RETRY: Result.FLOW_CONTROL,  # "later": the ISMG delivers it again
    AckStatus.REJECT: Result.BAD_STRUCTURE,
}
_DECODING: Final[Mapping[int, TextEncoding]] = {
    MsgFmt.ASCII: TextEncoding.ASCII,
    MsgFmt.UCS2: TextEncoding.UCS2,
    MsgFmt.GBK: TextEncoding.GBK,
}
_CONNECT_STATUS_TEXT: Final[Mapping[int, str]] = {
    ConnectStatus.BAD_STRUCTURE: "bad message structure",
    ConnectStatus.BAD_SOURCE_ADDR: "unknown Source_Addr",
    ConnectStatus.AUTH_FAILED: "authentication failed",
    ConnectStatus.VERSION_TOO_HIGH: "version too high",
}
_NO_MSG_ID = bytes(8)
_NO_AUTHENTICATOR = bytes(16)
_RECENT_LOGINS = 8  # digests of CONNECTs not yet answered that an AuthenticatorISMG may answer


def parse_version(text: str) -> CmppVersion:
    """The version an `extra["version"]` names; ValueError for anything else."""
    try:
        return VERSIONS[text.strip()]
    except KeyError:
        raise ValueError(f"CMPP version is one of {sorted(VERSIONS)}, not {text!r}") from None


class CmppAdapter(ProtocolAdapter[Pdu]):
    """The SP side of CMPP 2.0/3.0. See the module docstring for its options."""

    protocol: ClassVar[str] = "cmpp"
    link_test_name: ClassVar[str] = "CMPP_ACTIVE_TEST"
    # The specification's T=60 s, N=3 for responses, and a link test after 3 minutes of silence.
    default_response_timeout: ClassVar[float] = 60.0
    default_response_tries: ClassVar[int] = 3
    default_enquire_interval: ClassVar[float] = 180.0

    def __init__(self, config: ConnectorConfig, version: CmppVersion = CmppVersion.V30) -> None:
        super().__init__(config)
        extra = config.extra
        if "version" in extra:
            version = parse_version(extra["version"])
        self.version = version
        self.framing = CmppFraming(LinkEnd.ESME, self.version)
        encoding = extra.get("encoding", "ucs2")
        if encoding not in ("ucs2", "gbk"):
            raise ValueError(f"CMPP encoding is 'ucs2' or 'gbk', not {encoding!r}")
        self._gbk = encoding == "gbk"
        self._service_id = extra.get("service_id", "")
        self._fee_user_type = int(extra.get("fee_user_type", "0"))
        self._fee_type = extra.get("fee_type", "01")
        self._fee_code = extra.get("fee_code", "000000")
        self._ref = random.randrange(0x100)
        self._framer = self._submit_framer()
        self._logins: deque[bytes] = deque(maxlen=_RECENT_LOGINS)
        self._mo: Reassembler[tuple[TextEncoding, bytes]] = Reassembler()

    def _submit_framer(self) -> SubmitFramer | None:
        """Writes submits with this link's fixed fields; None leaves them all to the codec."""
        try:
            return SubmitFramer(self._submit(0, 1, 1, 0, 0, MsgFmt.ASCII, "", "", b""), self.version)
        except ValueError:  # e.g. a service_id too long: each submit is refused with the codec's reason
            return None

    # -- sessions -------------------------------------------------------------------------------

    def session_roles(self) -> tuple[SessionRole, ...]:
        return (SessionRole.TRANSCEIVER,)

    # -- framing --------------------------------------------------------------------------------

    def reject(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, Deliver):
            return DeliverResp(sequence=pdu.sequence, msg_id=pdu.msg_id, result=Result.BAD_COMMAND)
        if isinstance(pdu, Connect):
            return ConnectResp(sequence=pdu.sequence, status=ConnectStatus.OTHER_ERROR, version=self.version)
        return None  # an ISMG sends nothing else an SP must answer

    # -- login, heartbeat, logout ---------------------------------------------------------------

    def bind_request(self, role: SessionRole, sequence: int) -> Pdu:
        timestamp = connect_timestamp(datetime.now())
        digest = authenticator_source(self.config.system_id, self.config.password, timestamp)
        self._logins.append(digest)
        return Connect(
            sequence=sequence,
            source_addr=self.config.system_id,
            authenticator_source=digest,
            version=self.version,
            timestamp=timestamp,
        )

    def bind_result(self, pdu: Pdu) -> BindResult:
        if not isinstance(pdu, ConnectResp):
            return BindResult(False, f"unexpected {type(pdu).__name__} to CMPP_CONNECT")
        if pdu.status != ConnectStatus.OK:
            reason = _CONNECT_STATUS_TEXT.get(pdu.status, "other error")
            return BindResult(False, f"status {pdu.status} ({reason})")
        if pdu.authenticator_ismg != _NO_AUTHENTICATOR and not self._proves_secret(pdu):
            return BindResult(False, "AuthenticatorISMG does not prove our shared secret")
        if pdu.version and CmppVersion.from_wire(pdu.version) < self.version:
            return BindResult(False, f"the ISMG speaks version 0x{pdu.version:02X}; configure CMPP 2.0")
        return BindResult(True)

    def _proves_secret(self, pdu: ConnectResp) -> bool:
        # Which CONNECT this answers is not known here (sessions share the adapter), and 2.0-only ISMGs
        # hash Status as one octet even when asked for 3.0: any recent digest in either width will do.
        secret = self.config.password
        return any(
            authenticator_ismg(pdu.status, sent, secret, width) == pdu.authenticator_ismg
            for sent in self._logins
            for width in CmppVersion
        )

    def link_test(self, sequence: int) -> Pdu:
        return ActiveTest(sequence=sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return ActiveTestResp(sequence=pdu.sequence)

    def unbind(self, sequence: int) -> Pdu:
        return Terminate(sequence=sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return TerminateResp(sequence=pdu.sequence)

    # -- traffic --------------------------------------------------------------------------------

    def build_submits(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[Pdu]:
        payloads, msg_fmt = self._segments(sms.text)
        total = len(payloads)
        udhi = 1 if total > 1 else 0
        registered = 1 if sms.want_receipt else 0
        return [
            self._submit(
                next_sequence(),
                total,
                number,
                registered,
                udhi,
                msg_fmt,
                sms.source,
                sms.destination,
                payload,
            )
            for number, payload in enumerate(payloads, start=1)
        ]

    def submit_frames(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[RequestFrame]:
        framer = self._framer
        if framer is None:
            return super().submit_frames(sms, next_sequence)
        payloads, msg_fmt = self._segments(sms.text)
        total = len(payloads)
        udhi = 1 if total > 1 else 0
        registered = 1 if sms.want_receipt else 0
        source, destination = sms.source, sms.destination
        frames: list[RequestFrame] = []
        for number, payload in enumerate(payloads, start=1):
            sequence = next_sequence()
            frame = framer.frame(
                sequence, total, number, registered, udhi, msg_fmt, source, destination, payload
            )
            if frame is None:  # something the wire may not carry: the codec says what
                submit = self._submit(
                    sequence, total, number, registered, udhi, msg_fmt, source, destination, payload
                )
                frame = self.encode(submit)
            frames.append((sequence, frame))
        return frames

    def _segments(self, text: str) -> tuple[list[bytes], MsgFmt]:
        """Msg_Content of each segment of `text`, with a concatenation header when long, and Msg_Fmt."""
        if text.isascii():
            encoding, msg_fmt = TextEncoding.ASCII, MsgFmt.ASCII
        elif self._gbk and can_encode(text, TextEncoding.GBK):
            encoding, msg_fmt = TextEncoding.GBK, MsgFmt.GBK
        else:
            encoding, msg_fmt = TextEncoding.UCS2, MsgFmt.UCS2
        self._ref = (self._ref + 1) & 0xFF
        return split_for_sms(text, encoding, self._ref), msg_fmt

    def _submit(
        self,
        sequence: int,
        pk_total: int,
        pk_number: int,
        registered_delivery: int,
        tp_udhi: int,
        msg_fmt: int,
        source: str,
        destination: str,
        content: bytes,
    ) -> Submit:
        return Submit(
            sequence=sequence,
            pk_total=pk_total,
            pk_number=pk_number,
            registered_delivery=registered_delivery,
            service_id=self._service_id,
            fee_user_type=self._fee_user_type,
            tp_udhi=tp_udhi,
            msg_fmt=msg_fmt,
            msg_src=self.config.system_id,
            fee_type=self._fee_type,
            fee_code=self._fee_code,
            src_id=source,
            dest_terminal_ids=(destination,),
            msg_content=content,
        )

    def read_submit_response(self, pdu: Pdu) -> SegmentAnswer:
        if not isinstance(pdu, SubmitResp):
            return SegmentAnswer(False, "", True, f"unexpected {type(pdu).__name__}")
        if pdu.result == Result.OK:
            return SegmentAnswer(True, format_msg_id(pdu.msg_id))
        return SegmentAnswer(False, "", is_transient_result(pdu.result), str(pdu.result))

    def read_deliver(self, pdu: Pdu) -> Delivery:
        if not isinstance(pdu, Deliver):
            raise ProtocolError(f"{type(pdu).__name__} is not a deliver")
        if pdu.registered_delivery == 1:
            return Delivery(report=self._report(pdu))
        return self._inbound(pdu)

    def deliver_response(self, pdu: Pdu, status: AckStatus) -> Pdu:
        msg_id = pdu.msg_id if isinstance(pdu, Deliver) else _NO_MSG_ID
        return DeliverResp(sequence=pdu.sequence, msg_id=msg_id, result=_ACK_RESULT[status])

    def deliver_response_frame(self, pdu: Pdu, status: AckStatus) -> bytes:
        msg_id = pdu.msg_id if isinstance(pdu, Deliver) else _NO_MSG_ID
        frame = message_response_frame(
            CommandId.DELIVER_RESP, pdu.sequence, msg_id, _ACK_RESULT[status], self.version
        )
        return super().deliver_response_frame(pdu, status) if frame is None else frame

    def _report(self, pdu: Deliver) -> DeliveryReport:
        msg_id, stat, submit_time, done_time, destination, _ = read_report(pdu.msg_content)
        return DeliveryReport(
            remote_id=format_msg_id(msg_id),
            stat=stat,
            # CMPP has no separate error code: a failure's Stat ("UNDELIV", "MB:0008"...) is its code.
            err="" if stat == STAT_DELIVERED else stat,
            destination=destination or pdu.src_terminal_id,
            submit_time=submit_time,
            done_time=done_time,
            connector=self.config.name,
        )

    def _inbound(self, pdu: Deliver) -> Delivery:
        encoding = _DECODING.get(pdu.msg_fmt, TextEncoding.LATIN1)
        content = pdu.msg_content
        if pdu.tp_udhi & 1:
            concat, content = parse_concat(content)
            if concat is not None and concat.total > 1:
                key = (pdu.src_terminal_id, pdu.dest_id, concat.ref, concat.total)
                parts = self._mo.add(key, concat.total, concat.seq, (encoding, content))
                if parts is None:
                    return Delivery()
                # Parts may split a character (other senders than ours do), so join octets, then decode.
                encoding = parts[0][0]
                content = b"".join(part for _, part in parts)
        text = decode_text(content, encoding, "replace")
        return Delivery(inbound=InboundSms(pdu.src_terminal_id, pdu.dest_id, text, self.config.name))


def _cmpp2(config: ConnectorConfig) -> CmppAdapter:
    return CmppAdapter(config, CmppVersion.V20)


register_adapter("cmpp", CmppAdapter)
register_adapter("cmpp2", _cmpp2)
