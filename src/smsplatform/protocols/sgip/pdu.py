"""SGIP 1.2 PDUs as plain values (spec §4.2), and the code tables their integer fields draw from.

Integer fields are typed `int`, not the enums below, so a PDU from a peer using a value the
specification leaves "reserved" still decodes; the enums name the values we send and compare against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, TypeAlias

_U32_MAX = 0xFFFFFFFF
_SEQUENCE_TEXT = re.compile(r"(0|[1-9][0-9]*)-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)")


class CommandId(IntEnum):
    """Command IDs of spec §5.1 for the PDUs this package speaks."""

    BIND = 0x00000001
    BIND_RESP = 0x80000001
    UNBIND = 0x00000002
    UNBIND_RESP = 0x80000002
    SUBMIT = 0x00000003
    SUBMIT_RESP = 0x80000003
    DELIVER = 0x00000004
    DELIVER_RESP = 0x80000004
    REPORT = 0x00000005
    REPORT_RESP = 0x80000005
    USERRPT = 0x00000011
    USERRPT_RESP = 0x80000011


class LoginType(IntEnum):
    """Bind Login Type: who opens the connection and what it is for."""

    SP_TO_SMG = 1
    SMG_TO_SP = 2
    SMG_TO_SMG = 3
    SMG_TO_GNS = 4
    GNS_TO_SMG = 5
    GNS_TO_GNS = 6
    TEST = 11


class MessageCoding(IntEnum):
    """MessageCoding values; others follow the GSM 03.38 data coding scheme."""

    ASCII = 0
    WRITE_CARD = 3
    BINARY = 4
    UCS2 = 8
    GBK = 15


class FeeType(IntEnum):
    """Charging category of spec §5.3."""

    CHANNEL_ONLY = 0
    FREE = 1
    PER_MESSAGE = 2
    MONTHLY = 3
    SP_CHARGES = 4


class MtReason(IntEnum):
    """MorelatetoMTFlag: why this MT is sent."""

    FIRST_REPLY_TO_MO = 0
    FURTHER_REPLY_TO_MO = 1
    NOT_MO_TRIGGERED = 2
    SYSTEM_FEEDBACK = 3


class ReportFlag(IntEnum):
    """Submit ReportFlag: when the SMG should send a Report back."""

    ON_ERROR_ONLY = 0
    ALWAYS = 1
    NEVER = 2
    MONTHLY_FEE_ONLY = 3


class ReportType(IntEnum):
    """Report ReportType: which kind of earlier command the Report is about."""

    SUBMIT = 0
    DELIVER = 1


class UserCondition(IntEnum):
    """UserRpt UserCondition: the subscriber's new standing."""

    CANCELLED = 0
    SUSPENDED_FOR_ARREARS = 1
    RESTORED = 2


@dataclass(frozen=True, slots=True)
class SgipSequence:
    """The 12-octet sequence number: source node id, time MMDDHHMMSS (decimal), counter.

    It names a command network-wide, so a Submit's sequence doubles as the message id a later Report
    refers to (SubmitSequenceNumber); `format` gives the text we store for it.
    """

    node_id: int
    timestamp: int
    number: int

    def __post_init__(self) -> None:
        for name in ("node_id", "timestamp", "number"):
            value = getattr(self, name)
            if not 0 <= value <= _U32_MAX:
                raise ValueError(f"SGIP sequence {name} {value} is not an unsigned 32-bit integer")

    def format(self) -> str:
        """Canonical text "node-timestamp-number" in plain decimal, e.g. "3075112345-1120203225-7"."""
        return f"{self.node_id}-{self.timestamp}-{self.number}"

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def parse(cls, text: str) -> SgipSequence:
        """Inverse of `format`; only the canonical form is accepted, so one sequence has one id."""
        match = _SEQUENCE_TEXT.fullmatch(text)
        if match is None:
            raise ValueError(f"not an SGIP sequence id: {text!r}")
        node_id, timestamp, number = (int(part) for part in match.groups())
        return cls(node_id, timestamp, number)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind:
    """Opens a session; the server checks the name and password before anything else is accepted."""

    command_id: ClassVar[CommandId] = CommandId.BIND
    sequence: SgipSequence
    login_type: int
    login_name: str
    login_password: str
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp:
    command_id: ClassVar[CommandId] = CommandId.BIND_RESP
    sequence: SgipSequence
    result: int
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind:
    """Announces the client is done; both sides close after the answer. It has no body."""

    command_id: ClassVar[CommandId] = CommandId.UNBIND
    sequence: SgipSequence


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp:
    command_id: ClassVar[CommandId] = CommandId.UNBIND_RESP
    sequence: SgipSequence


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit:
    """An MT message to 1-100 numbers ("86"-prefixed).

    Defaults suit a platform sending notifications: free to the user, not triggered by an MO, and a
    Report requested whatever the outcome.
    """

    command_id: ClassVar[CommandId] = CommandId.SUBMIT
    sequence: SgipSequence
    sp_number: str
    user_numbers: tuple[str, ...]
    message_coding: int
    message_content: bytes
    charge_number: str = ""
    corp_id: str = ""
    service_type: str = ""
    fee_type: int = FeeType.FREE
    fee_value: str = "0"
    given_value: str = "0"
    agent_flag: int = 0
    morelateto_mt_flag: int = MtReason.NOT_MO_TRIGGERED
    priority: int = 0
    expire_time: str = ""
    schedule_time: str = ""
    report_flag: int = ReportFlag.ALWAYS
    tp_pid: int = 0
    tp_udhi: int = 0
    message_type: int = 0
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResp:
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_RESP
    sequence: SgipSequence
    result: int
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """An MO message from a handset to an SP number."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER
    sequence: SgipSequence
    user_number: str
    sp_number: str
    message_coding: int
    message_content: bytes
    tp_pid: int = 0
    tp_udhi: int = 0
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverResp:
    command_id: ClassVar[CommandId] = CommandId.DELIVER_RESP
    sequence: SgipSequence
    result: int
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The outcome of an earlier Submit (or forwarded Deliver), found by `submit_sequence`.

    `error_code` is meaningful only when `state` is failed (see `report_state`).
    """

    command_id: ClassVar[CommandId] = CommandId.REPORT
    sequence: SgipSequence
    submit_sequence: SgipSequence
    user_number: str
    state: int
    report_type: int = ReportType.SUBMIT
    error_code: int = 0
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportResp:
    command_id: ClassVar[CommandId] = CommandId.REPORT_RESP
    sequence: SgipSequence
    result: int
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRpt:
    """The SMG telling an SP that a subscriber was cancelled, suspended or restored.

    Decoded so an SP-side server can answer it instead of dropping the link.
    """

    command_id: ClassVar[CommandId] = CommandId.USERRPT
    sequence: SgipSequence
    sp_number: str
    user_number: str
    user_condition: int
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRptResp:
    command_id: ClassVar[CommandId] = CommandId.USERRPT_RESP
    sequence: SgipSequence
    result: int
    reserve: str = ""


Request: TypeAlias = Bind | Unbind | Submit | Deliver | Report | UserRpt
Response: TypeAlias = BindResp | UnbindResp | SubmitResp | DeliverResp | ReportResp | UserRptResp
Pdu: TypeAlias = Request | Response
