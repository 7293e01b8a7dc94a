"""Wire layouts of SMGP 3.0 bodies (spec §5.2), one table per command, compiled at import.

The tables are the one description of each body: the codec's fast path and field walk, and the frame
writers in `frames.py`, all come from them (see `protocols.layout`). Octet strings are read as Latin-1,
so a stray high octet from a peer survives a decode and an encode unchanged, and only their trailing
NULs are padding (see `wire`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from smsplatform.protocols.layout import Dialect, Field, Kind, Layout, Plan, compile_layouts
from smsplatform.protocols.smgp.pdu import (
    AUTHENTICATOR_LENGTH,
    MAX_DEST_TERM_IDS,
    MSG_ID_LENGTH,
    ActiveTest,
    ActiveTestResp,
    CommandId,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginResp,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.smgp.tlv import Tlv, decode_tlvs, encode_tlvs
from smsplatform.protocols.smgp.wire import TEXT_ENCODING, BodyReader

HEADER_LENGTH: Final = 12
MAX_PACKET_LENGTH: Final = 64 * 1024
"""Far above the largest real PDU (a Submit to 100 recipients is under 3 KiB); a length beyond it
means the stream is out of step or hostile, and is refused before anything is buffered."""

MAX_MSG_LENGTH: Final = 0xFF
"""MsgLength is one octet. The spec caps MT content at 140; the gateway, not the codec, enforces that."""

TERM_ID_WIDTH: Final = 21
CLIENT_ID_WIDTH: Final = 8
SERVICE_ID_WIDTH: Final = 10
FEE_TYPE_WIDTH: Final = 2
FEE_CODE_WIDTH: Final = 6  # FeeCode and FixedFee alike
RECV_TIME_WIDTH: Final = 14
RESERVE_WIDTH: Final = 8
_TIME = 17


def tlv_octets(tlvs: Iterable[Tlv]) -> bytes:
    """The optional-parameter section; ValueError for a tag or value that does not fit."""
    out = bytearray()
    encode_tlvs(out, tlvs)
    return bytes(out)


DIALECT: Final = Dialect(
    name="SMGP",
    max_frame_size=MAX_PACKET_LENGTH,
    encoding=TEXT_ENCODING,
    nul_ends_text=False,
    # Octets after the fixed fields of a PDU without TLVs are ignored: some gateways pad responses, and
    # refusing a Submit_Resp for it would lose the MsgID it carries.
    ignore_trailing=True,
    encode_tlvs=tlv_octets,
    decode_tlvs=lambda octets: decode_tlvs(BodyReader(octets)),
)


def _u8(name: str, label: str) -> Field:
    return Field(name, Kind.U8, 1, label)


def _u32(name: str, label: str) -> Field:
    return Field(name, Kind.U32, 4, label)


def _text(name: str, label: str, width: int) -> Field:
    return Field(name, Kind.TEXT, width, label)


_MSG_ID = Field("msg_id", Kind.OCTETS, MSG_ID_LENGTH, "MsgID")
_CONTENT = Field("msg_content", Kind.CONTENT, 1, "MsgContent", count_label="MsgLength")
_RESERVE = _text("reserve", "Reserve", RESERVE_WIDTH)
_TLVS = Field("tlvs", Kind.TLVS, label="TLVs")
_ANSWER: Layout = (_MSG_ID, _u32("status", "Status"))

LAYOUTS: Final[dict[int, Layout]] = {
    CommandId.LOGIN: (
        _text("client_id", "ClientID", CLIENT_ID_WIDTH),
        Field("authenticator_client", Kind.OCTETS, AUTHENTICATOR_LENGTH, "AuthenticatorClient"),
        _u8("login_mode", "LoginMode"),
        _u32("timestamp", "TimeStamp"),
        _u8("client_version", "ClientVersion"),
    ),
    CommandId.LOGIN_RESP: (
        _u32("status", "Status"),
        Field("authenticator_server", Kind.OCTETS, AUTHENTICATOR_LENGTH, "AuthenticatorServer"),
        _u8("server_version", "ServerVersion"),
    ),
    CommandId.SUBMIT: (
        _u8("msg_type", "MsgType"),
        _u8("need_report", "NeedReport"),
        _u8("priority", "Priority"),
        _text("service_id", "ServiceID", SERVICE_ID_WIDTH),
        _text("fee_type", "FeeType", FEE_TYPE_WIDTH),
        _text("fee_code", "FeeCode", FEE_CODE_WIDTH),
        _text("fixed_fee", "FixedFee", FEE_CODE_WIDTH),
        _u8("msg_format", "MsgFormat"),
        _text("valid_time", "ValidTime", _TIME),
        _text("at_time", "AtTime", _TIME),
        _text("src_term_id", "SrcTermID", TERM_ID_WIDTH),
        _text("charge_term_id", "ChargeTermID", TERM_ID_WIDTH),
        Field(
            "dest_term_ids",
            Kind.TEXT_LIST,
            TERM_ID_WIDTH,
            "DestTermID",
            limits=(0, MAX_DEST_TERM_IDS),
            count_label="DestTermIDCount",
        ),
        _CONTENT,
        _RESERVE,
        _TLVS,
    ),
    CommandId.SUBMIT_RESP: _ANSWER,
    CommandId.DELIVER: (
        _MSG_ID,
        _u8("is_report", "IsReport"),
        _u8("msg_format", "MsgFormat"),
        _text("recv_time", "RecvTime", RECV_TIME_WIDTH),
        _text("src_term_id", "SrcTermID", TERM_ID_WIDTH),
        _text("dest_term_id", "DestTermID", TERM_ID_WIDTH),
        _CONTENT,
        _RESERVE,
        _TLVS,
    ),
    CommandId.DELIVER_RESP: _ANSWER,
    CommandId.ACTIVE_TEST: (),
    CommandId.ACTIVE_TEST_RESP: (),
    CommandId.EXIT: (),
    CommandId.EXIT_RESP: (),
}

PDU_CLASSES: Final[dict[int, type[Any]]] = {
    cls.command_id: cls
    for cls in (
        Login,
        LoginResp,
        Submit,
        SubmitResp,
        Deliver,
        DeliverResp,
        ActiveTest,
        ActiveTestResp,
        Exit,
        ExitResp,
    )
}

PLANS: Final[dict[int, Plan]] = compile_layouts(LAYOUTS, PDU_CLASSES, DIALECT)
