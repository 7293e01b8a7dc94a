"""CMPP 2.0/3.0 PDUs as plain values, shared by both versions.

One dataclass serves both versions. Fields that 2.0 lacks (the ``*_terminal_type`` fields and ``link_id``)
keep their defaults when a 2.0 frame is decoded and are not sent when encoding for 2.0; 2.0's ``Reserve``
octets are sent as zeros and ignored. Field widths live in ``layout.py``, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar


class CmppVersion(IntEnum):
    """The layout family; the wire Version octet is 0x20 or 0x30 (high nibble major, low nibble minor)."""

    V20 = 0x20
    V30 = 0x30

    @classmethod
    def from_wire(cls, value: int) -> CmppVersion:
        """The layout a Version octet implies: 0x21 (2.1) and older still use 2.0 widths."""
        return cls.V30 if value >= cls.V30 else cls.V20


class CommandId(IntEnum):
    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    QUERY = 0x00000006
    QUERY_RESP = 0x80000006
    CANCEL = 0x00000007
    CANCEL_RESP = 0x80000007
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008

    @property
    def is_response(self) -> bool:
        return bool(self & 0x80000000)


class ConnectStatus(IntEnum):
    """CMPP_CONNECT_RESP Status; 5 and above are "other errors"."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_SOURCE_ADDR = 2
    AUTH_FAILED = 3
    VERSION_TOO_HIGH = 4
    OTHER_ERROR = 5


class Result(IntEnum):
    """Result of CMPP_SUBMIT_RESP and CMPP_DELIVER_RESP (0-99 protocol, 100-199 vendor-defined)."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_COMMAND = 2
    DUPLICATE_SEQUENCE = 3
    BAD_LENGTH = 4
    BAD_FEE_CODE = 5
    CONTENT_TOO_LONG = 6
    BAD_SERVICE_ID = 7
    FLOW_CONTROL = 8
    FEE_TERMINAL_NOT_SERVED = 9
    BAD_SRC_ID = 10
    BAD_MSG_SRC = 11
    BAD_FEE_TERMINAL_ID = 12
    BAD_DEST_TERMINAL_ID = 13


# Only flow control (流量控制错) says "later may work"; the other codes describe the message or the account,
# so resubmitting the same bytes would fail the same way.
_TRANSIENT_RESULTS = frozenset({Result.FLOW_CONTROL})


def is_transient_result(result: int) -> bool:
    """Whether a SUBMIT_RESP Result means "slow down and resubmit" rather than "this message failed"."""
    return result in _TRANSIENT_RESULTS


class MsgFmt(IntEnum):
    """Msg_Fmt: how Msg_Content is encoded."""

    ASCII = 0
    WRITE_CARD = 3
    BINARY = 4
    UCS2 = 8
    GBK = 15


class CancelResult(IntEnum):
    SUCCESS = 0
    FAILURE = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    command_id: ClassVar[CommandId] = CommandId.CONNECT
    sequence: int
    source_addr: str
    authenticator_source: bytes
    version: int
    timestamp: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectResp:
    command_id: ClassVar[CommandId] = CommandId.CONNECT_RESP
    sequence: int
    status: int
    authenticator_ismg: bytes = bytes(16)
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Terminate:
    command_id: ClassVar[CommandId] = CommandId.TERMINATE
    sequence: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminateResp:
    command_id: ClassVar[CommandId] = CommandId.TERMINATE_RESP
    sequence: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit:
    """CMPP_SUBMIT. ``msg_content`` is raw octets; ``tp_udhi=1`` when it starts with a UDH."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT
    sequence: int
    msg_id: bytes = bytes(8)
    pk_total: int = 1
    pk_number: int = 1
    registered_delivery: int = 0
    msg_level: int = 0
    service_id: str = ""
    fee_user_type: int = 0
    fee_terminal_id: str = ""
    fee_terminal_type: int = 0
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = MsgFmt.ASCII
    msg_src: str = ""
    fee_type: str = "01"
    fee_code: str = "0"
    valid_time: str = ""
    at_time: str = ""
    src_id: str = ""
    dest_terminal_ids: tuple[str, ...]
    dest_terminal_type: int = 0
    msg_content: bytes
    link_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResp:
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_RESP
    sequence: int
    msg_id: bytes
    result: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """CMPP_DELIVER: a mobile-originated message, or a status report when ``registered_delivery`` is 1."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER
    sequence: int
    msg_id: bytes
    dest_id: str
    service_id: str = ""
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = MsgFmt.ASCII
    src_terminal_id: str
    src_terminal_type: int = 0
    registered_delivery: int = 0
    msg_content: bytes
    link_id: str = ""

    @property
    def is_report(self) -> bool:
        return self.registered_delivery == 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverResp:
    command_id: ClassVar[CommandId] = CommandId.DELIVER_RESP
    sequence: int
    msg_id: bytes
    result: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """CMPP_QUERY: traffic totals for a day (``time`` is YYYYMMDD), overall or for one Service_Id."""

    command_id: ClassVar[CommandId] = CommandId.QUERY
    sequence: int
    time: str
    query_type: int = 0
    query_code: str = ""
    reserve: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryResp:
    command_id: ClassVar[CommandId] = CommandId.QUERY_RESP
    sequence: int
    time: str
    query_type: int = 0
    query_code: str = ""
    mt_tl_msg: int = 0
    mt_tl_usr: int = 0
    mt_scs: int = 0
    mt_wt: int = 0
    mt_fl: int = 0
    mo_scs: int = 0
    mo_wt: int = 0
    mo_fl: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancel:
    command_id: ClassVar[CommandId] = CommandId.CANCEL
    sequence: int
    msg_id: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelResp:
    command_id: ClassVar[CommandId] = CommandId.CANCEL_RESP
    sequence: int
    success_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveTest:
    command_id: ClassVar[CommandId] = CommandId.ACTIVE_TEST
    sequence: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveTestResp:
    command_id: ClassVar[CommandId] = CommandId.ACTIVE_TEST_RESP
    sequence: int
    reserved: int = 0


Pdu = (
    Connect
    | ConnectResp
    | Terminate
    | TerminateResp
    | Submit
    | SubmitResp
    | Deliver
    | DeliverResp
    | Query
    | QueryResp
    | Cancel
    | CancelResp
    | ActiveTest
    | ActiveTestResp
)
