"""The CMPP 2.0/3.0 ISMG dialect (China Mobile's SMS gateway, as an SP sees it).

Registered as "cmpp" (3.0) and "cmpp2" (2.0); options {"version": "2.0"|"3.0"} choose too, and
{"gateway_id": N} sets the ISMG code inside Msg_Ids, {"mo_encoding": "gbk"} sends MO that is not
ASCII as GBK (Msg_Fmt 15) instead of UCS-2.

- CMPP_CONNECT is accepted when AuthenticatorSource is the MD5 digest of the account's shared
  secret (accounts map Source_Addr, the SP id, to the secret); the answer proves the secret back in
  AuthenticatorISMG. An unknown SP id gets Status 2, a wrong digest 3, a CONNECT of another
  version 4 (higher) or 5 (lower): the simulator speaks one version. Every session both submits
  and receives, as CMPP links do.
- Each CMPP_SUBMIT segment gets a Msg_Id from MsgIdGenerator (time, gateway id, sequence), which
  reports quote again. Throttling answers Result 8 (flow control), unusable content Result 1, a
  submit before CONNECT Result 2. One destination per submit: group sends are refused (Result 1).
- Long messages are understood with TP_udhi and a concatenation header, or with Pk_total/Pk_number
  alone; Registered_Delivery 1 asks for a status report.
- Reports are CMPP_DELIVER with Registered_Delivery 1 and the report in Msg_Content; MO are
  CMPP_DELIVER in ASCII (Msg_Fmt 0) when the text is ASCII, else UCS-2 (or GBK), long ones with
  TP_udhi and a concatenation header.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import ClassVar, Final

from smsplatform.protocols.cmpp.auth import authenticator_ismg, is_valid_authenticator_source
from smsplatform.protocols.cmpp.frames import DeliverFramer, message_response_frame
from smsplatform.protocols.cmpp.msgid import MsgIdGenerator, parse_msg_id
from smsplatform.protocols.cmpp.pdu import (
    ActiveTest,
    ActiveTestResp,
    CancelResp,
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
    TerminateResp,
)
from smsplatform.protocols.cmpp.report import report_content
from smsplatform.protocols.concat import ConcatInfo, parse_concat
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.cmpp import CmppFraming
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.text import TextEncoding
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

DEFAULT_GATEWAY_ID = 100001
VERSIONS: Final[Mapping[str, CmppVersion]] = {
    "2.0": CmppVersion.V20,
    "2": CmppVersion.V20,
    "3.0": CmppVersion.V30,
    "3": CmppVersion.V30,
}

_BIND_STATUS: Final[Mapping[BindStatus, int]] = {
    BindStatus.OK: ConnectStatus.OK,
    BindStatus.BAD_CREDENTIALS: ConnectStatus.AUTH_FAILED,
    BindStatus.ALREADY_BOUND: ConnectStatus.OTHER_ERROR,
}
_SUBMIT_RESULT: Final[Mapping[SubmitStatus, int]] = {
    SubmitStatus.OK: Result.OK,
    SubmitStatus.THROTTLED: Result.FLOW_CONTROL,
    SubmitStatus.NOT_BOUND: Result.BAD_COMMAND,
    SubmitStatus.INVALID: Result.BAD_STRUCTURE,
}
_ENCODINGS: Final[Mapping[int, TextEncoding]] = {
    MsgFmt.ASCII: TextEncoding.ASCII,
    MsgFmt.UCS2: TextEncoding.UCS2,
    MsgFmt.GBK: TextEncoding.GBK,
}
_MSG_FMT: Final[Mapping[TextEncoding, int]] = {encoding: fmt for fmt, encoding in _ENCODINGS.items()}
_NO_MSG_ID = bytes(8)

# What a deliver carries besides its sequence, in wire order: Msg_Id, Dest_Id, TP_udhi, Msg_Fmt,
# Src_terminal_Id, Registered_Delivery, Msg_Content (a status report when Registered_Delivery is 1).
_DeliverFields = tuple[bytes, str, int, int, str, int, bytes]


class CmppDialect(SmscDialect[Pdu]):
    """See the module docstring."""

    protocol: ClassVar[str] = "cmpp"

    def __init__(
        self,
        version: CmppVersion = CmppVersion.V30,
        *,
        gateway_id: int = DEFAULT_GATEWAY_ID,
        mo_encoding: TextEncoding = TextEncoding.UCS2,
    ) -> None:
        super().__init__(id_format="dec")
        if mo_encoding not in (TextEncoding.UCS2, TextEncoding.GBK):
            raise ValueError("the MO encoding is ucs2 or gbk")
        self.version = version
        self.framing = CmppFraming(LinkEnd.SMSC, version)
        self._mo_encoding = mo_encoding
        self._ids = MsgIdGenerator(gateway_id)
        self._second = -1
        self._now = datetime.now()
        self._minute = -1
        self._minute_text = ""
        # Reports and MO differ from each other only in their ids, addresses, coding and content.
        self._delivers = DeliverFramer(
            Deliver(sequence=0, msg_id=_NO_MSG_ID, dest_id="", src_terminal_id="", msg_content=b""), version
        )

    def reject(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, Deliver):  # an ISMG sends delivers; it does not take them
            return DeliverResp(sequence=pdu.sequence, msg_id=pdu.msg_id, result=Result.BAD_COMMAND)
        if pdu.command_id == CommandId.CANCEL:
            return CancelResp(sequence=pdu.sequence, success_id=1)
        return None  # QUERY is not simulated; its asker times out

    # -- login ----------------------------------------------------------------------------------

    def read_bind(self, pdu: Pdu) -> BindRequest:
        if not isinstance(pdu, Connect):
            raise ProtocolError(f"{type(pdu).__name__} is not a CMPP_CONNECT")
        # The secret never travels; answer_bind checks the digest instead of a password.
        return BindRequest(system_id=pdu.source_addr, password="", transmits=True, receives=True)

    def answer_bind(self, pdu: Pdu, request: BindRequest, secret: str | None) -> tuple[bool, Pdu]:
        if not isinstance(pdu, Connect):
            raise ProtocolError(f"{type(pdu).__name__} is not a CMPP_CONNECT")
        asked = CmppVersion.from_wire(pdu.version)
        if asked is not self.version:
            status = ConnectStatus.VERSION_TOO_HIGH if asked > self.version else ConnectStatus.OTHER_ERROR
        elif secret is None:
            status = ConnectStatus.BAD_SOURCE_ADDR
        elif not is_valid_authenticator_source(
            pdu.source_addr, pdu.authenticator_source, secret, pdu.timestamp
        ):
            status = ConnectStatus.AUTH_FAILED
        else:
            proof = authenticator_ismg(ConnectStatus.OK, pdu.authenticator_source, secret, self.version)
            return True, ConnectResp(
                sequence=pdu.sequence, status=ConnectStatus.OK, authenticator_ismg=proof, version=self.version
            )
        return False, ConnectResp(sequence=pdu.sequence, status=status, version=self.version)

    def bind_response(self, pdu: Pdu, status: BindStatus) -> Pdu:
        # Used for refusals only (answer_bind builds the acceptance): AuthenticatorISMG stays empty.
        return ConnectResp(sequence=pdu.sequence, status=_BIND_STATUS[status], version=self.version)

    # -- submits --------------------------------------------------------------------------------

    def read_submit(self, pdu: Pdu) -> SubmitRequest:
        if not isinstance(pdu, Submit):
            raise ProtocolError(f"{type(pdu).__name__} is not a CMPP_SUBMIT")
        if len(pdu.dest_terminal_ids) != 1:
            raise ProtocolError(f"{len(pdu.dest_terminal_ids)} destinations; one is simulated")
        content = pdu.msg_content
        concat: ConcatInfo | None = None
        if pdu.tp_udhi & 1:
            concat, content = parse_concat(content)
        elif pdu.pk_total > 1 and 1 <= pdu.pk_number <= pdu.pk_total:
            concat = ConcatInfo(ref=0, total=pdu.pk_total, seq=pdu.pk_number)
        if concat is not None and concat.total == 1:
            concat = None
        return SubmitRequest(
            source=pdu.src_id,
            destination=pdu.dest_terminal_ids[0],
            text_bytes=content,
            encoding=_ENCODINGS.get(pdu.msg_fmt),
            concat=concat,
            want_receipt=pdu.registered_delivery == 1,
        )

    def submit_response(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> Pdu:
        msg_id = parse_msg_id(message_id) if message_id else _NO_MSG_ID
        return SubmitResp(sequence=pdu.sequence, msg_id=msg_id, result=_SUBMIT_RESULT[status])

    def submit_response_frame(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> bytes:
        msg_id = parse_msg_id(message_id) if message_id else _NO_MSG_ID
        frame = message_response_frame(
            CommandId.SUBMIT_RESP, pdu.sequence, msg_id, _SUBMIT_RESULT[status], self.version
        )
        return super().submit_response_frame(pdu, message_id, status) if frame is None else frame

    def message_id(self, number: int) -> str:
        # format_msg_id's text, without going through the octets
        return str(self._ids.next_value(self._this_second()))

    def _next_msg_id(self) -> bytes:
        return self._ids.next_id(self._this_second())

    def _this_second(self) -> datetime:
        second = int(time.time())
        if second != self._second:  # one datetime a second, not one per message
            self._second = second
            self._now = datetime.fromtimestamp(second)
        return self._now

    # -- delivers -------------------------------------------------------------------------------

    def mo_encoding(self, text: str) -> TextEncoding:
        return TextEncoding.ASCII if text.isascii() else self._mo_encoding

    def deliver(self, sequence: int, item: Outgoing) -> Pdu:
        if isinstance(item, Receipt):
            return self._deliver(sequence, *self._report_fields(sequence, item, *self._report_ids(item)))
        return self._deliver(sequence, *self._mo_fields(item))

    def deliver_frame(self, sequence: int, item: Outgoing) -> tuple[Hashable, bytes]:
        if isinstance(item, Receipt):
            reported, msg_id = self._report_ids(item)
            frame = self._delivers.report_frame(
                sequence,
                msg_id,
                item.source,
                item.destination,
                reported,
                item.stat,
                self._report_time(item.submit_time),
                self._report_time(item.done_time),
                sequence,
            )
            if frame is not None:
                return sequence, frame
            fields = self._report_fields(sequence, item, reported, msg_id)
        else:
            fields = self._mo_fields(item)
            frame = self._delivers.frame(sequence, *fields)
            if frame is not None:
                return sequence, frame
        # Something the wire may not carry: the codec says what.
        return sequence, self.encode(self._deliver(sequence, *fields))

    def _report_ids(self, item: Receipt) -> tuple[bytes, bytes]:
        """The Msg_Id a report is about, and the report's own."""
        return parse_msg_id(item.message_id), self._next_msg_id()

    def _report_fields(self, sequence: int, item: Receipt, reported: bytes, msg_id: bytes) -> _DeliverFields:
        report = report_content(
            reported,
            item.stat,
            self._report_time(item.submit_time),
            self._report_time(item.done_time),
            item.destination,
            sequence,
            self.version,
        )
        return msg_id, item.source, 0, MsgFmt.ASCII, item.destination, 1, report

    def _mo_fields(self, item: MoPart) -> _DeliverFields:
        udhi = 1 if item.udhi else 0
        return (
            self._next_msg_id(),
            item.destination,
            udhi,
            _MSG_FMT[item.encoding],
            item.source,
            0,
            item.payload,
        )

    @staticmethod
    def _deliver(
        sequence: int,
        msg_id: bytes,
        dest_id: str,
        tp_udhi: int,
        msg_fmt: int,
        src_terminal_id: str,
        registered_delivery: int,
        msg_content: bytes,
    ) -> Deliver:
        return Deliver(
            sequence=sequence,
            msg_id=msg_id,
            dest_id=dest_id,
            tp_udhi=tp_udhi,
            msg_fmt=msg_fmt,
            src_terminal_id=src_terminal_id,
            registered_delivery=registered_delivery,
            msg_content=msg_content,
        )

    def _report_time(self, unix: float) -> str:
        """YYMMDDHHMM in local time, computed once a minute (reports come by the thousand)."""
        minute = int(unix // 60)
        if minute != self._minute:
            self._minute = minute
            self._minute_text = time.strftime("%y%m%d%H%M", time.localtime(minute * 60))
        return self._minute_text

    def deliver_accepted(self, pdu: Pdu) -> bool:
        return isinstance(pdu, DeliverResp) and pdu.result == Result.OK

    # -- link -----------------------------------------------------------------------------------

    def link_test(self, sequence: int) -> Pdu:
        return ActiveTest(sequence=sequence)

    def link_test_response(self, pdu: Pdu) -> Pdu:
        return ActiveTestResp(sequence=pdu.sequence)

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return TerminateResp(sequence=pdu.sequence)


def parse_version(text: str) -> CmppVersion:
    try:
        return VERSIONS[text.strip()]
    except KeyError:
        raise ValueError(f"CMPP version is one of {sorted(VERSIONS)}, not {text!r}") from None


def _create(options: Mapping[str, str], default: CmppVersion = CmppVersion.V30) -> CmppDialect:
    version = parse_version(options["version"]) if "version" in options else default
    return CmppDialect(
        version,
        gateway_id=int(options.get("gateway_id", DEFAULT_GATEWAY_ID)),
        mo_encoding=TextEncoding(options.get("mo_encoding", TextEncoding.UCS2)),
    )


def _create_v20(options: Mapping[str, str]) -> CmppDialect:
    return _create(options, CmppVersion.V20)


register_dialect("cmpp", _create)
register_dialect("cmpp2", _create_v20)
