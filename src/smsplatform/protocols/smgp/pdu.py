"""The SMGP 3.0 PDUs an SP link uses (spec §5.2.2), one dataclass each, and the values of their fields.

Fields keep the wire's types so that nothing is lost between decode and encode: enumerated
octets (MsgType, MsgFormat, ...) stay ints, since peers send reserved and vendor values that a
simulator must be able to see and answer; `MsgFormat` and friends only name the known ones.
MsgIDs are the raw 10 octets (see `msgid` for their text form); octet strings are `str` without
their NUL padding; message content is raw `bytes`.
"""

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Final, TypeAlias

from smsplatform.protocols.smgp.status import Status
from smsplatform.protocols.smgp.tlv import Tlv, TlvAccessors

__all__ = [
    "MAX_DEST_TERM_IDS",
    "MSG_ID_LENGTH",
    "SMGP_VERSION",
    "ActiveTest",
    "ActiveTestResp",
    "CommandId",
    "Deliver",
    "DeliverResp",
    "Exit",
    "ExitResp",
    "Login",
    "LoginMode",
    "LoginResp",
    "MsgFormat",
    "MsgType",
    "Pdu",
    "Priority",
    "Request",
    "Response",
    "Status",
    "Submit",
    "SubmitResp",
]

SMGP_VERSION: Final = 0x30
"""ClientVersion / ServerVersion for 3.0: major version in the high nibble, minor in the low one."""

MSG_ID_LENGTH: Final = 10
MAX_DEST_TERM_IDS: Final = 100
"""Most recipients of one Submit (§6.2.21); the gateway answers each with its own MsgID."""

AUTHENTICATOR_LENGTH: Final = 16
_NO_MSG_ID: Final = bytes(MSG_ID_LENGTH)
_NO_AUTHENTICATOR: Final = bytes(AUTHENTICATOR_LENGTH)


class CommandId(IntEnum):
    """RequestID of the header; a response is its request's id with the high bit set."""

    LOGIN = 0x00000001
    LOGIN_RESP = 0x80000001
    SUBMIT = 0x00000002
    SUBMIT_RESP = 0x80000002
    DELIVER = 0x00000003
    DELIVER_RESP = 0x80000003
    ACTIVE_TEST = 0x00000004
    ACTIVE_TEST_RESP = 0x80000004
    EXIT = 0x00000006
    EXIT_RESP = 0x80000006


class LoginMode(IntEnum):
    SEND = 0
    RECEIVE = 1
    TRANSMIT = 2
    """Send and receive on one connection."""


class MsgType(IntEnum):
    MO = 0
    MT = 6
    POINT_TO_POINT = 7


class Priority(IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    HIGHEST = 3


class MsgFormat(IntEnum):
    """Encoding of MsgContent (§6.2.16). Status reports are ASCII."""

    ASCII = 0
    WRITE_CARD = 3
    BINARY = 4
    UCS2 = 8
    GB = 15
    """GB18030 in 3.0.3; GBK (its two-octet part) is what gateways send in practice."""
    SIM = 0xF6


@dataclass(frozen=True, slots=True)
class Login:
    command_id: ClassVar[CommandId] = CommandId.LOGIN
    sequence: int
    client_id: str
    authenticator_client: bytes
    """MD5 digest over ClientID, the shared secret and the timestamp: see `auth.client_authenticator`."""
    login_mode: int = LoginMode.TRANSMIT
    timestamp: int = 0
    """MMDDHHMMSS read as a decimal number (0301000000 -> 301000000)."""
    client_version: int = SMGP_VERSION


@dataclass(frozen=True, slots=True)
class LoginResp:
    command_id: ClassVar[CommandId] = CommandId.LOGIN_RESP
    sequence: int
    status: int
    authenticator_server: bytes = _NO_AUTHENTICATOR
    """All zero when the login is refused (§6.2.7)."""
    server_version: int = SMGP_VERSION


@dataclass(frozen=True, slots=True)
class Submit(TlvAccessors):
    command_id: ClassVar[CommandId] = CommandId.SUBMIT
    sequence: int
    msg_type: int = MsgType.MT
    need_report: int = 1
    priority: int = Priority.NORMAL
    service_id: str = ""
    fee_type: str = "00"
    fee_code: str = ""
    fixed_fee: str = ""
    msg_format: int = MsgFormat.ASCII
    valid_time: str = ""
    """SMPP time format (17 octets, e.g. "250101120000032+"), empty for the gateway's default."""
    at_time: str = ""
    src_term_id: str = ""
    charge_term_id: str = ""
    dest_term_ids: tuple[str, ...] = ()
    msg_content: bytes = b""
    reserve: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class SubmitResp:
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_RESP
    sequence: int
    msg_id: bytes = _NO_MSG_ID
    """For a Submit to n recipients, the first of n consecutive ids (see `msgid.group_msg_ids`)."""
    status: int = Status.OK


@dataclass(frozen=True, slots=True)
class Deliver(TlvAccessors):
    command_id: ClassVar[CommandId] = CommandId.DELIVER
    sequence: int
    msg_id: bytes
    is_report: int = 0
    """1 when MsgContent is a status report (parse it with `report.parse_report`)."""
    msg_format: int = MsgFormat.ASCII
    recv_time: str = ""
    """YYYYMMDDHHMMSS."""
    src_term_id: str = ""
    dest_term_id: str = ""
    msg_content: bytes = b""
    reserve: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliverResp:
    command_id: ClassVar[CommandId] = CommandId.DELIVER_RESP
    sequence: int
    msg_id: bytes = _NO_MSG_ID
    status: int = Status.OK


@dataclass(frozen=True, slots=True)
class ActiveTest:
    command_id: ClassVar[CommandId] = CommandId.ACTIVE_TEST
    sequence: int


@dataclass(frozen=True, slots=True)
class ActiveTestResp:
    command_id: ClassVar[CommandId] = CommandId.ACTIVE_TEST_RESP
    sequence: int


@dataclass(frozen=True, slots=True)
class Exit:
    command_id: ClassVar[CommandId] = CommandId.EXIT
    sequence: int


@dataclass(frozen=True, slots=True)
class ExitResp:
    command_id: ClassVar[CommandId] = CommandId.EXIT_RESP
    sequence: int


Pdu: TypeAlias = (
    Login
    | LoginResp
    | Submit
    | SubmitResp
    | Deliver
    | DeliverResp
    | ActiveTest
    | ActiveTestResp
    | Exit
    | ExitResp
)

Request: TypeAlias = Login | Submit | Deliver | ActiveTest | Exit
Response: TypeAlias = LoginResp | SubmitResp | DeliverResp | ActiveTestResp | ExitResp
