"""Wire layouts of CMPP bodies, one table per command and version.

Declaring the fields once, in wire order, keeps the 2.0/3.0 differences (terminal ids 21 vs 32 octets,
Status/Result 1 vs 4 octets, Reserve 8 vs LinkID 20, no ``*_terminal_type`` in 2.0) visible side by side
and lets one encoder and one decoder serve every PDU. At import the tables are compiled into the Plans
that the codec runs on, and the frame writers in `frames.py` are cut from them (see `protocols.layout`).
"""

from __future__ import annotations

from typing import Final

from smsplatform.protocols.cmpp.pdu import (
    ActiveTest,
    ActiveTestResp,
    Cancel,
    CancelResp,
    CmppVersion,
    CommandId,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    Pdu,
    Query,
    QueryResp,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)
from smsplatform.protocols.layout import Dialect, Field, Kind, Layout, Plan, compile_layout

__all__ = [
    "DIALECT",
    "HEADER_SIZE",
    "LAYOUTS",
    "MAX_FRAME_SIZE",
    "PDU_CLASSES",
    "PLANS",
    "Field",
    "Kind",
    "Layout",
    "Plan",
    "compile_layout",
    "fixed_size",
    "layouts_by_body_size",
]

HEADER_SIZE: Final = 12
# The largest legal frame is a 3.0 SUBMIT to 255 numbers with 255 content octets (about 8.5 KiB); anything
# far beyond that is a peer out of step, not a message.
MAX_FRAME_SIZE: Final = 64 * 1024

DIALECT: Final = Dialect(name="CMPP", max_frame_size=MAX_FRAME_SIZE)


def _u8(name: str) -> Field:
    return Field(name, Kind.U8, 1)


def _u32(name: str) -> Field:
    return Field(name, Kind.U32, 4)


def _octets(name: str, width: int) -> Field:
    return Field(name, Kind.OCTETS, width)


def _text(name: str, width: int) -> Field:
    return Field(name, Kind.TEXT, width)


def _reserved(width: int) -> Field:
    return Field("", Kind.RESERVED, width)


def _submit(version: CmppVersion) -> Layout:
    terminal = 32 if version is CmppVersion.V30 else 21
    v30 = version is CmppVersion.V30
    return (
        _octets("msg_id", 8),
        _u8("pk_total"),
        _u8("pk_number"),
        _u8("registered_delivery"),
        _u8("msg_level"),
        _text("service_id", 10),
        _u8("fee_user_type"),
        _text("fee_terminal_id", terminal),
        *((_u8("fee_terminal_type"),) if v30 else ()),
        _u8("tp_pid"),
        _u8("tp_udhi"),
        _u8("msg_fmt"),
        _text("msg_src", 6),
        _text("fee_type", 2),
        _text("fee_code", 6),
        _text("valid_time", 17),
        _text("at_time", 17),
        _text("src_id", 21),
        Field("dest_terminal_ids", Kind.TEXT_LIST, terminal, count_label="DestUsr_tl"),
        *((_u8("dest_terminal_type"),) if v30 else ()),
        Field("msg_content", Kind.CONTENT, 1, count_label="Msg_Length"),
        _text("link_id", 20) if v30 else _reserved(8),
    )


def _deliver(version: CmppVersion) -> Layout:
    v30 = version is CmppVersion.V30
    return (
        _octets("msg_id", 8),
        _text("dest_id", 21),
        _text("service_id", 10),
        _u8("tp_pid"),
        _u8("tp_udhi"),
        _u8("msg_fmt"),
        _text("src_terminal_id", 32 if v30 else 21),
        *((_u8("src_terminal_type"),) if v30 else ()),
        _u8("registered_delivery"),
        Field("msg_content", Kind.CONTENT, 1, count_label="Msg_Length"),
        _text("link_id", 20) if v30 else _reserved(8),
    )


def _status_width_layouts(version: CmppVersion) -> dict[CommandId, Layout]:
    """Responses whose status/result octet grew to 4 octets in 3.0."""
    status = _u32 if version is CmppVersion.V30 else _u8
    return {
        CommandId.CONNECT_RESP: (status("status"), _octets("authenticator_ismg", 16), _u8("version")),
        CommandId.SUBMIT_RESP: (_octets("msg_id", 8), status("result")),
        CommandId.DELIVER_RESP: (_octets("msg_id", 8), status("result")),
        CommandId.CANCEL_RESP: (status("success_id"),),
    }


_COMMON: dict[CommandId, Layout] = {
    CommandId.CONNECT: (
        _text("source_addr", 6),
        _octets("authenticator_source", 16),
        _u8("version"),
        _u32("timestamp"),
    ),
    CommandId.TERMINATE: (),
    CommandId.TERMINATE_RESP: (),
    CommandId.QUERY: (_text("time", 8), _u8("query_type"), _text("query_code", 10), _text("reserve", 8)),
    CommandId.QUERY_RESP: (
        _text("time", 8),
        _u8("query_type"),
        _text("query_code", 10),
        *(
            _u32(name)
            for name in ("mt_tl_msg", "mt_tl_usr", "mt_scs", "mt_wt", "mt_fl", "mo_scs", "mo_wt", "mo_fl")
        ),
    ),
    CommandId.CANCEL: (_octets("msg_id", 8),),
    CommandId.ACTIVE_TEST: (),
    CommandId.ACTIVE_TEST_RESP: (_u8("reserved"),),
}

PDU_CLASSES: dict[CommandId, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        Connect,
        ConnectResp,
        Terminate,
        TerminateResp,
        Submit,
        SubmitResp,
        Deliver,
        DeliverResp,
        Query,
        QueryResp,
        Cancel,
        CancelResp,
        ActiveTest,
        ActiveTestResp,
    )
}

LAYOUTS: dict[CmppVersion, dict[CommandId, Layout]] = {
    version: {
        **_COMMON,
        **_status_width_layouts(version),
        CommandId.SUBMIT: _submit(version),
        CommandId.DELIVER: _deliver(version),
    }
    for version in CmppVersion
}


def fixed_size(layout: Layout) -> int | None:
    """Body size of a layout without variable parts, else None."""
    if any(f.kind in (Kind.TEXT_LIST, Kind.CONTENT) for f in layout):
        return None
    return sum(f.width for f in layout)


def layouts_by_body_size(command_id: CommandId) -> dict[int, Layout]:
    """Fixed-size layouts of a command across versions, keyed by body size.

    Peers do not always answer in the version they negotiated (a 2.0-only ISMG replies to a 3.0 CONNECT with
    a 1-octet Status; some send ACTIVE_TEST_RESP without its Reserved octet), and for fixed-size bodies the
    size says which layout was meant.
    """
    found: dict[int, Layout] = {}
    for version in CmppVersion:
        layout = LAYOUTS[version][command_id]
        size = fixed_size(layout)
        if size is not None:
            found[size] = layout
    if command_id is CommandId.ACTIVE_TEST_RESP:
        found[0] = ()
    return found


PLANS: Final[dict[CmppVersion, dict[int, Plan]]] = {
    version: {
        command_id: compile_layout(layout, PDU_CLASSES[command_id], DIALECT)
        for command_id, layout in layouts.items()
    }
    for version, layouts in LAYOUTS.items()
}
