"""Wire layouts of SGIP 1.2 bodies (spec §4.2.3), one table per command, compiled at import.

The tables are the one description of each body: the codec's fast path and field walk, and the frame
writers in `frames.py`, all come from them (see `protocols.layout`).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Final

from smsplatform.protocols.fastpath import slot_builder
from smsplatform.protocols.layout import Dialect, Field, Kind, Layout, Plan, compile_layouts
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    CommandId,
    Deliver,
    DeliverResp,
    Report,
    ReportResp,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
    UserRpt,
    UserRptResp,
)

HEADER_LENGTH: Final = 20
MAX_FRAME_LENGTH: Final = 64 * 1024
"""Far above any real PDU (the spec caps packets at 2 KiB, a 100-number Submit needs ~2.3 KiB), but
low enough that a corrupt length field cannot make the reader hoard memory."""
MAX_USER_NUMBERS: Final = 100

# Fixed widths of spec §4.2.3, in octets.
PHONE_WIDTH: Final = 21
LOGIN_WIDTH: Final = 16
CORP_ID_WIDTH: Final = 5
SERVICE_TYPE_WIDTH: Final = 10
RESERVE_WIDTH: Final = 8
_FEE = 6
_TIME = 16

# Three numbers read off the wire are always a valid sequence: its checks would find nothing.
make_sequence = slot_builder(SgipSequence, ("node_id", "timestamp", "number"), trusted=True)

DIALECT: Final = Dialect(
    name="SGIP",
    max_frame_size=MAX_FRAME_LENGTH,
    split_sequence=attrgetter("node_id", "timestamp", "number"),
    join_sequence=lambda node_id, timestamp, number: make_sequence((node_id, timestamp, number)),
)


def _u8(name: str, label: str) -> Field:
    return Field(name, Kind.U8, 1, label)


def _text(name: str, label: str, width: int) -> Field:
    return Field(name, Kind.TEXT, width, label)


def _content() -> Field:
    return Field("message_content", Kind.CONTENT, 4, "MessageContent", count_label="MessageLength")


_RESERVE = _text("reserve", "Reserve", RESERVE_WIDTH)
_RESULT: Layout = (_u8("result", "Result"), _RESERVE)

LAYOUTS: Final[dict[int, Layout]] = {
    CommandId.BIND: (
        _u8("login_type", "Login Type"),
        _text("login_name", "Login Name", LOGIN_WIDTH),
        _text("login_password", "Login Password", LOGIN_WIDTH),
        _RESERVE,
    ),
    CommandId.BIND_RESP: _RESULT,
    CommandId.UNBIND: (),
    CommandId.UNBIND_RESP: (),
    CommandId.SUBMIT: (
        _text("sp_number", "SPNumber", PHONE_WIDTH),
        _text("charge_number", "ChargeNumber", PHONE_WIDTH),
        Field(
            "user_numbers",
            Kind.TEXT_LIST,
            PHONE_WIDTH,
            "UserNumber",
            limits=(1, MAX_USER_NUMBERS),
            count_label="UserCount",
        ),
        _text("corp_id", "CorpId", CORP_ID_WIDTH),
        _text("service_type", "ServiceType", SERVICE_TYPE_WIDTH),
        _u8("fee_type", "FeeType"),
        _text("fee_value", "FeeValue", _FEE),
        _text("given_value", "GivenValue", _FEE),
        _u8("agent_flag", "AgentFlag"),
        _u8("morelateto_mt_flag", "MorelatetoMTFlag"),
        _u8("priority", "Priority"),
        _text("expire_time", "ExpireTime", _TIME),
        _text("schedule_time", "ScheduleTime", _TIME),
        _u8("report_flag", "ReportFlag"),
        _u8("tp_pid", "TP_pid"),
        _u8("tp_udhi", "TP_udhi"),
        _u8("message_coding", "MessageCoding"),
        _u8("message_type", "MessageType"),
        _content(),
        _RESERVE,
    ),
    CommandId.SUBMIT_RESP: _RESULT,
    CommandId.DELIVER: (
        _text("user_number", "UserNumber", PHONE_WIDTH),
        _text("sp_number", "SPNumber", PHONE_WIDTH),
        _u8("tp_pid", "TP_pid"),
        _u8("tp_udhi", "TP_udhi"),
        _u8("message_coding", "MessageCoding"),
        _content(),
        _RESERVE,
    ),
    CommandId.DELIVER_RESP: _RESULT,
    CommandId.REPORT: (
        Field("submit_sequence", Kind.SEQUENCE, 12, "SubmitSequenceNumber"),
        _u8("report_type", "ReportType"),
        _text("user_number", "UserNumber", PHONE_WIDTH),
        _u8("state", "State"),
        _u8("error_code", "ErrorCode"),
        _RESERVE,
    ),
    CommandId.REPORT_RESP: _RESULT,
    CommandId.USERRPT: (
        _text("sp_number", "SPNumber", PHONE_WIDTH),
        _text("user_number", "UserNumber", PHONE_WIDTH),
        _u8("user_condition", "UserCondition"),
        _RESERVE,
    ),
    CommandId.USERRPT_RESP: _RESULT,
}

PDU_CLASSES: Final[dict[int, type[Any]]] = {
    cls.command_id: cls
    for cls in (
        Bind,
        BindResp,
        Unbind,
        UnbindResp,
        Submit,
        SubmitResp,
        Deliver,
        DeliverResp,
        Report,
        ReportResp,
        UserRpt,
        UserRptResp,
    )
}

PLANS: Final[dict[int, Plan]] = compile_layouts(LAYOUTS, PDU_CLASSES, DIALECT)
