"""The SGIP 1.2 SMG dialect.

- SPs bind with login type 1 (a wrong name or password gets Result 1, another login type Result 4,
  a second Bind on one connection Result 2) and then only submit. Reports and MO go the SGIP way:
  the simulator connects to the SP's listener and binds with login type 2. Point it there with
  the options `callback_host` (default 127.0.0.1), `callback_port`, `callback_login` and
  `callback_password` (for every account), or per account with `SmscServer.connect_back`.
- A Submit is answered with Result 0 and named by its own sequence number: the Report about it
  carries that sequence as SubmitSequenceNumber. Throttling answers Result 11 (node busy),
  unusable content Result 5, a Submit before the Bind Result 1. A Submit must name one number.
- Long messages are understood with TP_udhi and a concatenation header; each segment gets its own
  Report. ReportFlag 1 (and 3) asks for a Report, 0 for one on failure only, 2 for none.
- Reports fold the outcome into SGIP's three States (spec §5.4); a failed one carries an ErrorCode
  of spec §5.2 chosen by the stat (see `ERROR_CODES`).
- MO are Deliver in ASCII when the text allows, else UCS-2, long ones with a concatenation header.
- The SMG's own commands are numbered with `node_id` (option; default 100001, the 1AAAAX form).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Final

from smsplatform.protocols.concat import ConcatInfo, parse_concat
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import LinkEnd
from smsplatform.protocols.link.sgip import SgipFraming
from smsplatform.protocols.sgip import responses
from smsplatform.protocols.sgip.coding import message_coding_for, text_encoding_for
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    Deliver,
    DeliverResp,
    LoginType,
    Pdu,
    Report,
    ReportFlag,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    UnbindResp,
)
from smsplatform.protocols.sgip.report_state import ReportState, report_state_for_stat
from smsplatform.protocols.sgip.results import Result
from smsplatform.protocols.sgip.sequence import sequence_timestamp
from smsplatform.protocols.text import TextEncoding
from smsplatform.simulator.dialect import (
    BindRequest,
    BindStatus,
    CallbackTarget,
    MoPart,
    Outgoing,
    Receipt,
    SmscDialect,
    SubmitRequest,
    SubmitStatus,
)
from smsplatform.simulator.runner import register_dialect

DEFAULT_NODE_ID: Final = 100001
BEIJING: Final = timezone(timedelta(hours=8), "CST")  # sequence times are Beijing time (spec §3.4)

# The ErrorCode a failed Report gives for each outcome (spec §5.2); others read as a system failure.
ERROR_CODES: Final[Mapping[str, int]] = {
    "UNDELIV": Result.HANDSET_RECEIVE_ERROR,
    "EXPIRED": Result.USER_UNREACHABLE,
    "REJECTD": Result.UNKNOWN_USER,
}

_BIND_RESULTS = {
    BindStatus.OK: Result.OK,
    BindStatus.BAD_CREDENTIALS: Result.ILLEGAL_LOGIN,
    BindStatus.ALREADY_BOUND: Result.DUPLICATE_LOGIN,
}
_SUBMIT_RESULTS = {
    SubmitStatus.OK: Result.OK,
    SubmitStatus.THROTTLED: Result.NODE_BUSY,
    SubmitStatus.NOT_BOUND: Result.ILLEGAL_LOGIN,
    SubmitStatus.INVALID: Result.BAD_PARAMETER_FORMAT,
}
_RECEIPT_FLAGS = frozenset({ReportFlag.ON_ERROR_ONLY, ReportFlag.ALWAYS, ReportFlag.MONTHLY_FEE_ONLY})


class SgipDialect(SmscDialect[Pdu]):
    """See the module docstring."""

    protocol: ClassVar[str] = "sgip"

    def __init__(self, *, node_id: int = DEFAULT_NODE_ID, callback: CallbackTarget | None = None) -> None:
        super().__init__()
        self.framing = SgipFraming(LinkEnd.SMSC)
        SgipSequence(node_id, 0, 0)  # validates the node id
        self.node_id = node_id
        self.callback = callback
        self._second = -1
        self._timestamp = 0

    def reject(self, pdu: Pdu) -> Pdu | None:
        # Deliver, Report or UserRpt on an SP's connection: the SMG sends those, it does not take them.
        return responses.response_for(pdu.command_id, pdu.sequence, Result.ILLEGAL_LOGIN)

    # -- binds ----------------------------------------------------------------------------------

    def read_bind(self, pdu: Pdu) -> BindRequest:
        if not isinstance(pdu, Bind):
            raise ProtocolError(f"{type(pdu).__name__} is not a bind")
        return BindRequest(
            system_id=pdu.login_name,
            password=pdu.login_password,
            transmits=pdu.login_type == LoginType.SP_TO_SMG,
            receives=False,  # the SMG delivers over its own connection to the SP
        )

    def answer_bind(self, pdu: Pdu, request: BindRequest, secret: str | None) -> tuple[bool, Pdu]:
        if isinstance(pdu, Bind) and pdu.login_type != LoginType.SP_TO_SMG:
            return False, BindResp(sequence=pdu.sequence, result=Result.WRONG_LOGIN_TYPE)
        return super().answer_bind(pdu, request, secret)

    def bind_response(self, pdu: Pdu, status: BindStatus) -> Pdu:
        return BindResp(sequence=pdu.sequence, result=_BIND_RESULTS[status])

    def bind_request(self, sequence: int, system_id: str, password: str) -> Pdu:
        return Bind(
            sequence=self._sequence(sequence),
            login_type=LoginType.SMG_TO_SP,
            login_name=system_id,
            login_password=password,
        )

    def bind_accepted(self, pdu: Pdu) -> bool:
        return isinstance(pdu, BindResp) and pdu.result == Result.OK

    # -- submits --------------------------------------------------------------------------------

    def read_submit(self, pdu: Pdu) -> SubmitRequest:
        if not isinstance(pdu, Submit):
            raise ProtocolError(f"{type(pdu).__name__} is not a submit")
        if len(pdu.user_numbers) != 1:
            raise ProtocolError(f"the simulator takes one number per Submit, not {len(pdu.user_numbers)}")
        content = pdu.message_content
        concat: ConcatInfo | None = None
        if pdu.tp_udhi & 0x01:
            concat, content = parse_concat(content)
            if concat is not None and concat.total == 1:
                concat = None
        flag = pdu.report_flag
        return SubmitRequest(
            source=pdu.sp_number,
            destination=national(pdu.user_numbers[0]),
            text_bytes=content,
            encoding=text_encoding_for(pdu.message_coding),
            concat=concat,
            want_receipt=flag in _RECEIPT_FLAGS,
            failure_receipt_only=flag == ReportFlag.ON_ERROR_ONLY,
            message_id=pdu.sequence.format(),
        )

    def submit_response(self, pdu: Pdu, message_id: str, status: SubmitStatus) -> Pdu:
        return SubmitResp(sequence=pdu.sequence, result=_SUBMIT_RESULTS[status])

    def message_id(self, number: int) -> str:
        """Unused: every Submit is named by its own sequence (see read_submit)."""
        return str(number)

    # -- delivers -------------------------------------------------------------------------------

    def mo_encoding(self, text: str) -> TextEncoding:
        return TextEncoding.ASCII if text.isascii() else TextEncoding.UCS2

    def deliver(self, sequence: int, item: Outgoing) -> Pdu:
        if isinstance(item, Receipt):
            state = report_state_for_stat(item.stat)
            return Report(
                sequence=self._sequence(sequence),
                submit_sequence=SgipSequence.parse(item.message_id),
                user_number="86" + item.destination,
                state=state,
                error_code=ERROR_CODES.get(item.stat, Result.SYSTEM_FAILURE)
                if state == ReportState.FAILED
                else 0,
            )
        return self._mo(sequence, item)

    def _mo(self, sequence: int, item: MoPart) -> Deliver:
        return Deliver(
            sequence=self._sequence(sequence),
            user_number="86" + item.source,
            sp_number=item.destination,
            tp_udhi=1 if item.udhi else 0,
            message_coding=message_coding_for(item.encoding),
            message_content=item.payload,
        )

    def deliver_accepted(self, pdu: Pdu) -> bool:
        return isinstance(pdu, ReportResp | DeliverResp) and pdu.result == Result.OK

    # -- link -----------------------------------------------------------------------------------

    def link_test(self, sequence: int) -> None:
        return None  # SGIP has no heartbeat

    def link_test_response(self, pdu: Pdu) -> Pdu:
        raise ProtocolError("SGIP has no link test")  # never asked: nothing is classified LINK_TEST

    def unbind_response(self, pdu: Pdu) -> Pdu:
        return UnbindResp(sequence=pdu.sequence)

    def _sequence(self, number: int) -> SgipSequence:
        """Our node, the time now (computed once a second: Reports come by the thousand), `number`."""
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._timestamp = sequence_timestamp(datetime.fromtimestamp(second, BEIJING))
        return SgipSequence(self.node_id, self._timestamp, number)


def national(number: str) -> str:
    """The mobile without the 86 SGIP numbers carry."""
    if len(number) == 13 and number.startswith("86"):
        return number[2:]
    return number


def _create(options: Mapping[str, str]) -> SgipDialect:
    callback: CallbackTarget | None = None
    if options.get("callback_port"):
        callback = CallbackTarget(
            host=options.get("callback_host") or "127.0.0.1",
            port=int(options["callback_port"]),
            login=options.get("callback_login", ""),
            password=options.get("callback_password", ""),
        )
    return SgipDialect(node_id=int(options.get("node_id") or DEFAULT_NODE_ID), callback=callback)


register_dialect("sgip", _create)
