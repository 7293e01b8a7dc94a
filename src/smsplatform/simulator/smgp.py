"""The SMGP 3.0 gateway (SMGW) dialect.

- Login: AuthenticatorClient is recomputed with the account's shared secret; a wrong one (or an
  unknown ClientID) gets Status 21, a second Login on one connection 11. An accepted Login_Resp
  carries AuthenticatorServer, so clients can check the gateway knows the secret too. LoginMode 0
  sends, 1 receives, 2 does both.
- Submit is answered with a MsgID from `msgid.MsgIdGenerator` (gateway code option
  "gateway_code", default 010061); remote ids are its 20-digit text. Throttling answers Status 1
  (system busy), a Submit on a receive-only login 11, unusable content 10. One DestTermID per
  Submit: group sends are refused as unusable.
- MsgFormat 0, 8 and 15 are read as ASCII, UCS-2 and GB; long messages by the concatenation
  header (TP_udhi), or by PkTotal/PkNumber alone when there is no header.
- NeedReport 1 asks for a report: a Deliver with IsReport 1 and the §6.2.63 report in MsgContent.
- MO are Deliver with IsReport 0: ASCII text as MsgFormat 0, other text as UCS-2 (8), or GB (15)
  with the option {"mo_encoding": "gbk"}; long ones split with the header and TP_udhi.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import ClassVar, Final

from smsplatform.protocols.concat import ConcatInfo, parse_concat
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.link.smgp import SmgpFraming
from smsplatform.protocols.smgp import responses
from smsplatform.protocols.smgp.auth import server_authenticator, verify_client_authenticator
from smsplatform.protocols.smgp.frames import answer_frame, deliver_frame, encoded_tlvs
from smsplatform.protocols.smgp.msgid import MsgIdGenerator, parse_msg_id
from smsplatform.protocols.smgp.pdu import (
    MSG_ID_LENGTH,
    ActiveTest,
    ActiveTestResp,
    CommandId,
    Deliver,
    DeliverResp,
    ExitResp,
    Login,
    LoginMode,
    LoginResp,
    MsgFormat,
    Pdu,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.smgp.report import report_content, report_text
from smsplatform.protocols.smgp.status import Status
from smsplatform.protocols.smgp.tlv import udhi_tlv
from smsplatform.protocols.text import TextEncoding, can_encode
from smsplatform.simulator.dialect import (
    BindRequest,
    BindStatus,
    MoPart,
    Outgoing,
    Receipt,
    SmscDialect,
    SubmitRequest,
    SubmitStatus,
)
from smsplatform.simulator.runner import register_dialect

DEFAULT_GATEWAY_CODE: Final = "010061"
"""The example SMGW code of §6.2.26 (area 010, device type 06, number 1)."""

_BIND_STATUS: Final = {
    BindStatus.OK: Status.OK,
    BindStatus.BAD_CREDENTIALS: Status.AUTHENTICATION_ERROR,
    BindStatus.ALREADY_BOUND: Status.COMMAND_ERROR,
}
_SUBMIT_STATUS: Final = {
    SubmitStatus.OK: Status.OK,
    SubmitStatus.THROTTLED: Status.SYSTEM_BUSY,
    SubmitStatus.NOT_BOUND: Status.COMMAND_ERROR,
    SubmitStatus.INVALID: Status.MESSAGE_STRUCTURE_ERROR,
}
_ENCODINGS: Final[dict[int, TextEncoding]] = {
    MsgFormat.ASCII: TextEncoding.ASCII,
    MsgFormat.UCS2: TextEncoding.UCS2,
    MsgFormat.GB: TextEncoding.GBK,
}
_FORMATS: Final = {encoding: msg_format for msg_format, encoding in _ENCODINGS.items()}
_UDHI: Final = (udhi_tlv(),)
_UDHI_OCTETS: Final = encoded_tlvs(_UDHI)
_NO_MSG_ID: Final = bytes(MSG_ID_LENGTH)  # in a refusal, as SubmitResp has it by default


class SmgpDialect(SmscDialect[Pdu]):
    """See the module docstring."""

    protocol: ClassVar[str] = "smgp"

    def __init__(self, *, gateway_code: str = DEFAULT_GATEWAY_CODE, mo_encoding: str = "ucs2") -> None:
        super().__init__()
        self.framing = SmgpFraming(LinkEnd.SMSC)
        if mo_encoding not in ("ucs2", "gbk"):
            raise ValueError(f"mo_encoding is 'ucs2' or 'gbk', not {mo_encoding!r}")
        self._ids = MsgIdGenerator(gateway_code)
        self._mo_encoding = TextEncoding(mo_encoding)
        self._minute = -1
        self._minute_text = ""
        self._second = -1
        self._now = datetime.now()
        self._recv_time = ""

    def reject(self, pdu: Pdu) -> Pdu | None:
        return responses.response_for(pdu.command_id, pdu.sequence, Status.COMMAND_ERROR)

    # -- login ----------------------------------------------------------------------------------

    def read_bind(self, pdu: Pdu) -> BindRequest:
        if not isinstance(pdu, Login):
            raise ProtocolError(f"{type(pdu).__name__} is not a Login")
        mode = pdu.login_mode
        return BindRequest(
            system_id=pdu.client_id,
            password="",  # SMGP sends a digest of the secret, judged in answer_bind
            transmits=mode in (LoginMode.SEND, LoginMode.TRANSMIT),
            receives=mode in (LoginMode.RECEIVE, LoginMode.TRANSMIT),
        )

    def answer_bind(self, pdu: Pdu, request: BindRequest, secret: str | None) -> tuple[bool, Pdu]:
        if not isinstance(pdu, Login):
            raise ProtocolError(f"{type(pdu).__name__} is not a Login")
        if secret is None or not verify_client_authenticator(
            pdu.client_id, secret, pdu.timestamp, pdu.authenticator_client
        ):
            return False, self.bind_response(pdu, BindStatus.BAD_CREDENTIALS)
        proof = server_authenticator(Status.OK, pdu.authenticator_client, secret)
        return True, LoginResp(pdu.sequence, Status.OK, authenticator_server=proof)

    def bind_response(self, pdu: Pdu, status: BindStatus) -> Pdu:
        return LoginResp(pdu.sequence, _BIND_STATUS[status])

    # -- submits --------------------------------------------------------------------------------

    def read_submit(self, pdu: Pdu) -> SubmitRequest:
        if not isinstance(pdu, Submit):
            raise ProtocolError(f"{type(pdu).__name__} is not a Submit")
        if len(pdu.dest_term_ids) != 1:
            raise ProtocolError(
                f"the simulator takes one DestTermID per Submit, got {len(pdu.dest_term_ids)}"
            )
        content = pdu.msg_content
        concat: ConcatInfo | None = None
        if not pdu.tlvs:  # nearly every submit: no TP_udhi, PkTotal or PkNumber to look for
            pass
        elif pdu.udhi:
            concat, content = parse_concat(content)
        else:
            total, number = pdu.pk_total, pdu.pk_number
            if total is not None and number is not None and 1 <= number <= total:
                concat = ConcatInfo(ref=0, total=total, seq=number)
        if concat is not None and concat.total == 1:
            concat = None
        return SubmitRequest(
            source=pdu.src_term_id,
            destination=pdu.dest_term_ids[0],
            text_bytes=content,
            encoding=_ENCODINGS.get(pdu.msg_format),
            concat=concat,
            want_receipt=pdu.need_report == 1,
        )

    def submit_response(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> Pdu:
        if status is SubmitStatus.OK:
            return SubmitResp(pdu.sequence, msg_id=parse_msg_id(message_id))
        return SubmitResp(pdu.sequence, status=_SUBMIT_STATUS[status])

    def submit_response_frame(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> bytes:
        msg_id = parse_msg_id(message_id) if status is SubmitStatus.OK else _NO_MSG_ID
        frame = answer_frame(CommandId.SUBMIT_RESP, pdu.sequence, msg_id, _SUBMIT_STATUS[status])
        return super().submit_response_frame(pdu, message_id, status) if frame is None else frame

    def message_id(self, number: int) -> str:
        # The gateway's own numbering (code, minute, sequence) rather than the core's count.
        return self._ids.next_text(self._clock())  # format_msg_id's text, without the octets

    # -- delivers -------------------------------------------------------------------------------

    def mo_encoding(self, text: str) -> TextEncoding:
        if text.isascii():
            return TextEncoding.ASCII
        if self._mo_encoding is TextEncoding.GBK and can_encode(text, TextEncoding.GBK):
            return TextEncoding.GBK
        return TextEncoding.UCS2

    def deliver(self, sequence: int, item: Outgoing) -> Pdu:
        msg_id = self._ids.next_id(self._clock())
        recv_time = self._recv_time
        if isinstance(item, Receipt):
            return self._report_deliver(sequence, msg_id, recv_time, item, self._report(item))
        return self._mo_deliver(sequence, msg_id, recv_time, item)

    def deliver_frame(self, sequence: int, item: Outgoing) -> tuple[Hashable, bytes]:
        msg_id = self._ids.next_id(self._clock())
        recv_time = self._recv_time
        if isinstance(item, Receipt):
            report = self._report(item)
            frame = deliver_frame(
                sequence, msg_id, 1, MsgFormat.ASCII, recv_time, item.destination, item.source, report
            )
            if frame is None:  # something the wire may not carry: the codec says what
                frame = self.encode(self._report_deliver(sequence, msg_id, recv_time, item, report))
            return sequence, frame
        frame = deliver_frame(
            sequence,
            msg_id,
            0,
            _FORMATS.get(item.encoding, MsgFormat.UCS2),
            recv_time,
            item.source,
            item.destination,
            item.payload,
            _UDHI_OCTETS if item.udhi else b"",
        )
        if frame is None:
            frame = self.encode(self._mo_deliver(sequence, msg_id, recv_time, item))
        return sequence, frame

    @staticmethod
    def _report_deliver(
        sequence: int, msg_id: bytes, recv_time: str, item: Receipt, report: bytes
    ) -> Deliver:
        return Deliver(
            sequence,
            msg_id=msg_id,
            is_report=1,
            msg_format=MsgFormat.ASCII,
            recv_time=recv_time,
            src_term_id=item.destination,  # the report comes from the handset
            dest_term_id=item.source,
            msg_content=report,
        )

    @staticmethod
    def _mo_deliver(sequence: int, msg_id: bytes, recv_time: str, item: MoPart) -> Deliver:
        return Deliver(
            sequence,
            msg_id=msg_id,
            msg_format=_FORMATS.get(item.encoding, MsgFormat.UCS2),
            recv_time=recv_time,
            src_term_id=item.source,
            dest_term_id=item.destination,
            msg_content=item.payload,
            tlvs=_UDHI if item.udhi else (),
        )

    def _report(self, item: Receipt) -> bytes:
        # Only an ASCII start is quoted: the report itself is ASCII (MsgFormat 0).
        head = item.text_head.encode("ascii") if item.text_head.isascii() else b""
        return report_content(
            parse_msg_id(item.message_id),
            item.stat,
            item.err,
            self._date(item.submit_time),
            self._date(item.done_time),
            report_text(head, MsgFormat.ASCII),
            dlvrd="001" if item.stat == "DELIVRD" else "000",
        )

    def _clock(self) -> datetime:
        """Now, to the second, with RecvTime's text; made once a second, not once a PDU."""
        unix = time.time()
        second = int(unix)
        if second != self._second:
            self._second = second
            self._now = datetime.fromtimestamp(second)
            self._recv_time = self._now.strftime("%Y%m%d%H%M%S")
        return self._now

    def _date(self, unix: float) -> str:
        """YYMMDDhhmm in local time, computed once a minute (reports come by the thousand)."""
        minute = int(unix // 60)
        if minute != self._minute:
            self._minute = minute
            self._minute_text = time.strftime("%y%m%d%H%M", time.localtime(minute * 60))
        return self._minute_text

    def deliver_accepted(self, pdu: Pdu) -> bool:
        return isinstance(pdu, DeliverResp) and pdu.status == Status.OK

    # -- heartbeat, logout ----------------------------------------------------------------------

    def link_test(self, sequence: int) -> Pdu:
        return ActiveTest(sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return ActiveTestResp(pdu.sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return ExitResp(pdu.sequence)


def _create(options: Mapping[str, str]) -> SmgpDialect:
    return SmgpDialect(
        gateway_code=options.get("gateway_code", DEFAULT_GATEWAY_CODE),
        mo_encoding=options.get("mo_encoding", "ucs2"),
    )


register_dialect("smgp", _create)
