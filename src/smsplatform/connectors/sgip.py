"""SGIP 1.2 (China Unicom) on the shared link engine.

SGIP delivers the other way round from its siblings: we bind to the SMG (login type 1) only to
submit, and the SMG connects to our own listener (login type 2) to send Reports and MO (Deliver).
So a connector keeps one transmitter session and accepts the SMG's sessions. SGIP has no heartbeat:
the SMG closes a link that stays idle (60 s by default) and the engine binds again.

A submit's message id is its own sequence number: each segment's Submit gets a fresh
(node id, MMDDHHMMSS, counter) triple, the SMG echoes it in Submit_Resp and names it again as the
Report's SubmitSequenceNumber, so both give the same `SgipSequence.format()` text.

Options in ConnectorConfig.extra:

- `listen_port` (required; "0" picks a free port, see Connector.listen_port) and `listen_host`
  (default 127.0.0.1): where the SMG connects back.
- `listen_login`, `listen_password`: what the SMG's Bind must present (default: system_id and
  password, as most SMGs are set up with one pair both ways).
- `listen_login_timeout` (seconds a connection to the listener may stay without a Bind),
  `listen_max_connections_per_source` (open connections one address may hold; 0: no cap),
  `listen_login_failure_delay` and `listen_login_failure_delay_max` (seconds the answer to a Bind
  waits after failed ones from the same address, doubling per failure up to the max): this link's
  own values for the listener limits, which otherwise are the platform's settings of the same names
  without `listen_`.
- `node_id`: our SP node number; default 3 0000 QQQQQ (spec §3.3) with QQQQQ the corp_id.
- `corp_id`, `service_id` (or `service_type`): the Submit's CorpId and ServiceType.
- `charge_number`: who pays; default 21 zeros, the SP (spec §4.2.3.3).
- `encoding`: "auto" (ASCII text as ASCII, anything else as UCS-2; the default), "gbk" (non-ASCII
  text as GBK when it can be, else UCS-2) or "ucs2" (always UCS-2).

Result codes (Submit_Resp, Bind_Resp) are reported as their decimal number, e.g. "11" (node busy).
Reports carry no times, so DeliveryReport.submit_time/done_time stay empty; a failed Report's err
is its ErrorCode as three digits. A Report with State 1 (waiting) is not final and is only
acknowledged.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Final, TypeVar

from smsplatform.connectors.adapter import (
    AckStatus,
    BindAcceptance,
    BindResult,
    Delivery,
    ProtocolAdapter,
    SegmentAnswer,
    SessionRole,
)
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.connectors.registry import register_adapter
from smsplatform.protocols.admission import ListenerLimits
from smsplatform.protocols.concat import parse_concat, split_for_sms
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.link.sgip import SgipFraming
from smsplatform.protocols.reassembly import Reassembler
from smsplatform.protocols.sgip import responses
from smsplatform.protocols.sgip.coding import text_encoding_for
from smsplatform.protocols.sgip.defaults import RESPONSE_TIMEOUT_SECONDS
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    CommandId,
    Deliver,
    LoginType,
    MessageCoding,
    Pdu,
    Report,
    ReportFlag,
    ReportType,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
    UserRpt,
)
from smsplatform.protocols.sgip.report_state import ReportState, receipt_stat
from smsplatform.protocols.sgip.results import Result, describe_result, is_transient_result
from smsplatform.protocols.sgip.sequence import SequenceGenerator
from smsplatform.protocols.text import TextEncoding, can_encode, decode_text

log = logging.getLogger(__name__)

SP_PAYS: Final = "0" * 21
BEIJING: Final = timezone(timedelta(hours=8), "CST")  # sequence times are Beijing time (spec §3.4)

_ACK_RESULT = {
    AckStatus.OK: Result.OK,
    AckStatus.RETRY: Result.NODE_BUSY,  # a condition of ours: the SMG should try again later
    AckStatus.REJECT: Result.BAD_PARAMETER_FORMAT,
}
_ENCODINGS = ("auto", "gbk", "ucs2")
_N = TypeVar("_N", int, float)

# One counter per node id in the process: spec §3.4 makes the node, not the link, the issuer of
# sequence numbers, and two links of one SP must never issue the same (and so report-matching) id.
_GENERATORS: dict[int, SequenceGenerator] = {}


def sequence_source(node_id: int) -> SequenceGenerator:
    """The process-wide sequence generator of `node_id`.

    Its counter starts at a random point: the dispatch workers of one connector are one node in
    separate processes, and counters that all started at 0 would issue the same ids within a second.
    """
    generator = _GENERATORS.get(node_id)
    if generator is None:
        generator = _GENERATORS[node_id] = SequenceGenerator(node_id, secrets.randbelow(1 << 32))
    return generator


class SgipAdapter(ProtocolAdapter[Pdu]):
    """The SGIP 1.2 SP side. See the module docstring for its options."""

    protocol: ClassVar[str] = "sgip"
    default_response_timeout: ClassVar[float] = float(RESPONSE_TIMEOUT_SECONDS)

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.framing = SgipFraming(LinkEnd.ESME)
        extra = config.extra
        self.corp_id = extra.get("corp_id", "")
        self.service_type = extra.get("service_type") or extra.get("service_id", "")
        self.charge_number = extra.get("charge_number", SP_PAYS)
        self.node_id = _int_option(extra, "node_id", _default_node_id(self.corp_id))
        self.listen_host = extra.get("listen_host") or "127.0.0.1"
        if not extra.get("listen_port"):
            raise ValueError("an SGIP connector needs listen_port (where the SMG connects back)")
        self.listen_port = _int_option(extra, "listen_port", 0)
        if not 0 <= self.listen_port <= 0xFFFF:
            raise ValueError(f"SGIP listen_port {self.listen_port} is not a TCP port")
        self.listen_login = extra.get("listen_login", config.system_id)
        self.listen_password = extra.get("listen_password", config.password)
        # This link's own listener limits; None: the platform's.
        self._login_timeout = _limit_option(extra, "listen_login_timeout", float)
        self._max_connections = _limit_option(extra, "listen_max_connections_per_source", int)
        self._failure_delay = _limit_option(extra, "listen_login_failure_delay", float)
        self._failure_delay_max = _limit_option(extra, "listen_login_failure_delay_max", float)
        encoding = extra.get("encoding", "auto")
        if encoding not in _ENCODINGS:
            raise ValueError(f"SGIP encoding is one of {', '.join(_ENCODINGS)}, not {encoding!r}")
        self._encoding = encoding
        self._sequences = sequence_source(self.node_id)
        self._ref = random.randrange(0x100)
        self._mo: Reassembler[tuple[int, bytes]] = Reassembler()

    # -- sessions -------------------------------------------------------------------------------

    def session_roles(self) -> tuple[SessionRole, ...]:
        return (SessionRole.TRANSMITTER,)  # reports and MO come over the SMG's own connections

    def listen_address(self) -> tuple[str, int]:
        return (self.listen_host, self.listen_port)

    def listener_limits(self, defaults: ListenerLimits) -> ListenerLimits:
        def own(value: _N | None, default: _N) -> _N:
            return default if value is None else value

        return replace(
            defaults,
            login_timeout=own(self._login_timeout, defaults.login_timeout),
            max_connections_per_source=own(self._max_connections, defaults.max_connections_per_source),
            login_failure_delay=own(self._failure_delay, defaults.login_failure_delay),
            login_failure_delay_max=own(self._failure_delay_max, defaults.login_failure_delay_max),
        )

    def next_sequence(self) -> SgipSequence:
        """A fresh sequence for a command we originate, stamped with the time now."""
        return self._sequences.next(datetime.now(BEIJING))

    # -- framing --------------------------------------------------------------------------------

    def reject(self, pdu: Pdu) -> Pdu | None:
        if pdu.command_id == CommandId.BIND:
            return responses.response_for(pdu.command_id, pdu.sequence, Result.DUPLICATE_LOGIN)
        # Delivers before a Bind, or commands we never serve (a Submit to our listener).
        return responses.response_for(pdu.command_id, pdu.sequence, Result.ILLEGAL_LOGIN)

    # -- login, heartbeat, logout ---------------------------------------------------------------

    def bind_request(self, role: SessionRole, sequence: int) -> Pdu:
        return Bind(
            sequence=self.next_sequence(),
            login_type=LoginType.SP_TO_SMG,
            login_name=self.config.system_id,
            login_password=self.config.password,
        )

    def bind_result(self, pdu: Pdu) -> BindResult:
        if isinstance(pdu, BindResp):
            if pdu.result == Result.OK:
                return BindResult(True)
            return BindResult(False, f"status {int(pdu.result)} ({describe_result(pdu.result)})")
        return BindResult(False, f"unexpected {type(pdu).__name__}")

    def accept_bind(self, pdu: Pdu) -> BindAcceptance[Pdu] | None:
        if not isinstance(pdu, Bind):
            return None
        if pdu.login_type != LoginType.SMG_TO_SP:
            return BindAcceptance(BindResp(sequence=pdu.sequence, result=Result.WRONG_LOGIN_TYPE), None)
        if (pdu.login_name, pdu.login_password) != (self.listen_login, self.listen_password):
            log.warning("%s: refused the SMG's bind as %r", self.config.name, pdu.login_name)
            return BindAcceptance(BindResp(sequence=pdu.sequence, result=Result.ILLEGAL_LOGIN), None)
        return BindAcceptance(BindResp(sequence=pdu.sequence, result=Result.OK), SessionRole.RECEIVER)

    def link_test(self, sequence: int) -> None:
        return None  # SGIP has no heartbeat; the SMG closes idle links and we bind again

    def link_test_response(self, pdu: Pdu) -> Pdu:
        raise ProtocolError("SGIP has no link test")  # never asked: nothing is classified LINK_TEST

    def unbind(self, sequence: int) -> Pdu:
        return Unbind(sequence=self.next_sequence())

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return UnbindResp(sequence=pdu.sequence)

    # -- traffic --------------------------------------------------------------------------------

    def build_submits(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[Pdu]:
        text = sms.text
        mode = self._encoding
        if mode != "ucs2" and text.isascii():
            coding, encoding = MessageCoding.ASCII, TextEncoding.ASCII
        elif mode == "gbk" and can_encode(text, TextEncoding.GBK):
            coding, encoding = MessageCoding.GBK, TextEncoding.GBK
        else:
            coding, encoding = MessageCoding.UCS2, TextEncoding.UCS2
        self._ref = ref = (self._ref + 1) & 0xFF
        payloads = split_for_sms(text, encoding, ref)
        udhi = 1 if len(payloads) > 1 else 0
        report_flag = ReportFlag.ALWAYS if sms.want_receipt else ReportFlag.NEVER
        user_numbers = (_international(sms.destination),)
        return [
            Submit(
                sequence=self.next_sequence(),
                sp_number=sms.source,
                charge_number=self.charge_number,
                user_numbers=user_numbers,
                corp_id=self.corp_id,
                service_type=self.service_type,
                report_flag=report_flag,
                tp_udhi=udhi,
                message_coding=coding,
                message_content=payload,
            )
            for payload in payloads
        ]

    def read_submit_response(self, pdu: Pdu) -> SegmentAnswer:
        if isinstance(pdu, SubmitResp):
            if pdu.result == Result.OK:
                return SegmentAnswer(True, pdu.sequence.format())
            result = pdu.result
        else:  # some other answer under our submit's sequence: not an acceptance
            result = Result.SYSTEM_FAILURE
        return SegmentAnswer(False, "", is_transient_result(result), str(result))

    def read_deliver(self, pdu: Pdu) -> Delivery:
        if isinstance(pdu, Report):
            return Delivery(report=self._read_report(pdu))
        if isinstance(pdu, Deliver):
            return Delivery(inbound=self._read_mo(pdu))
        if isinstance(pdu, UserRpt):
            log.info(
                "%s: subscriber %s is now in condition %d",
                self.config.name,
                pdu.user_number,
                pdu.user_condition,
            )
            return Delivery()
        raise ProtocolError(f"{type(pdu).__name__} is not a deliver")

    def deliver_response(self, pdu: Pdu, status: AckStatus) -> Pdu:
        answer = responses.response_for(pdu.command_id, pdu.sequence, _ACK_RESULT[status])
        if answer is None:  # pragma: no cover - only Deliver, Report and UserRpt are delivers
            raise ProtocolError(f"{type(pdu).__name__} is not a deliver")
        return answer

    def _read_report(self, pdu: Report) -> DeliveryReport | None:
        """The report of a Submit's outcome; None for "still waiting" and for forwarded Delivers."""
        state = pdu.state
        if state == ReportState.WAITING or pdu.report_type != ReportType.SUBMIT:
            return None
        return DeliveryReport(
            remote_id=pdu.submit_sequence.format(),
            stat=receipt_stat(state),
            err="000" if state == ReportState.DELIVERED else f"{pdu.error_code:03d}",
            destination=_national(pdu.user_number),
            submit_time="",
            done_time="",
            connector=self.config.name,
        )

    def _read_mo(self, pdu: Deliver) -> InboundSms | None:
        """The MO in `pdu`, or None while parts of a long one are still missing."""
        coding, content = pdu.message_coding, pdu.message_content
        if pdu.tp_udhi & 0x01:
            concat, content = parse_concat(content)
            if concat is not None and concat.total > 1:
                key = (pdu.user_number, pdu.sp_number, concat.ref, concat.total)
                parts = self._mo.add(key, concat.total, concat.seq, (coding, content))
                if parts is None:
                    return None
                coding, content = parts[0][0], b"".join(body for _, body in parts)
        return InboundSms(
            source=_national(pdu.user_number),
            destination=pdu.sp_number,
            text=decode_text(content, _mo_encoding(coding), "replace"),
            connector=self.config.name,
        )


def _mo_encoding(coding: int) -> TextEncoding:
    """How to read an MO's MessageCoding; other values follow GSM 03.38 (bits 3-2: 10 is UCS-2)."""
    encoding = text_encoding_for(coding)
    if encoding is not None:
        return encoding
    return TextEncoding.UCS2 if coding & 0x0C == 0x08 else TextEncoding.LATIN1


def _international(mobile: str) -> str:
    """SGIP numbers carry the country code 86."""
    if len(mobile) == 13 and mobile.startswith("86"):
        return mobile
    return "86" + mobile.removeprefix("+86")


def _national(number: str) -> str:
    """A number as the platform keeps it: 86 (or +86) taken off an 11-digit mobile."""
    for prefix in ("86", "+86"):
        if number.startswith(prefix) and len(number) - len(prefix) == 11:
            return number[len(prefix) :]
    return number


def _int_option(extra: Mapping[str, str], name: str, default: int) -> int:
    value = extra.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"SGIP option {name} must be a number, not {value!r}") from None


def _limit_option(extra: Mapping[str, str], name: str, kind: Callable[[str], _N]) -> _N | None:
    """A listener limit from the options: a number, 0 or more; None when not given."""
    text = extra.get(name)
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not value >= 0:  # `not >=` also refuses NaN
        raise ValueError(f"SGIP option {name} must be a number, 0 or more, not {text!r}")
    return value


def _default_node_id(corp_id: str) -> int:
    """3AAAAQQQQQ of spec §3.3 with the area code unknown (0000) and QQQQQ the corp id."""
    corp = int(corp_id) if corp_id.isdigit() else 0
    return 3_0000_00000 + corp % 100_000


register_adapter("sgip", SgipAdapter)
