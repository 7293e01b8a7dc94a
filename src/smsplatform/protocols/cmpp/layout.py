"""Wire layouts of CMPP bodies, one table per command and version.

Declaring the fields once, in wire order, keeps the 2.0/3.0 differences (terminal ids 21 vs 32 octets,
Status/Result 1 vs 4 octets, Reserve 8 vs LinkID 20, no ``*_terminal_type`` in 2.0) visible side by side
and lets one encoder and one decoder serve every PDU. At import the tables are also compiled into the
Plans that the codec's fast path runs on (see "compiled form" below).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from enum import Enum, auto
from typing import Any

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
from smsplatform.protocols.fastpath import Getter, slot_builder, tuple_getter, tuple_picker


class Kind(Enum):
    U8 = auto()  # unsigned integer, 1 octet
    U32 = auto()  # unsigned integer, 4 octets big-endian
    OCTETS = auto()  # exactly `width` raw octets (Msg_Id, authenticators)
    TEXT = auto()  # ASCII, right-padded with NUL to `width`
    TEXT_LIST = auto()  # 1-octet count, then that many TEXT fields of `width`
    CONTENT = auto()  # 1-octet length, then that many raw octets
    RESERVED = auto()  # `width` octets sent as zeros, ignored when read; no dataclass field


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    width: int = 0


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


Layout = tuple[Field, ...]


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
        Field("dest_terminal_ids", Kind.TEXT_LIST, terminal),
        *((_u8("dest_terminal_type"),) if v30 else ()),
        Field("msg_content", Kind.CONTENT),
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
        Field("msg_content", Kind.CONTENT),
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


# --- compiled form ---------------------------------------------------------------------------
#
# Walking a layout field by field costs a Python call or two per field, and a SUBMIT has two dozen. The
# codec's fast path instead works on a Plan compiled from the layout once, at import: fixed-width fields
# are packed and unpacked by precompiled struct.Structs, texts are checked and converted a whole PDU at a
# time, and the PDU is assembled without keyword arguments. Whatever the fast path cannot vouch for (a
# value out of range, a short body) it hands to the field walk, which raises the precise error.

Builder = Callable[[tuple[Any, ...]], Pdu]

_SCALAR_KINDS = (Kind.U8, Kind.U32, Kind.OCTETS)
_COUNT_CODE = "B"  # DestUsr_tl and Msg_Length are one octet
_MAX_PACKINGS = 1024  # per plan; real traffic repeats a few shapes (one number, common content lengths)


@dataclass(frozen=True, slots=True)
class Packing:
    """How to pack a whole frame of one shape: the Struct and the order of its arguments."""

    struct: struct.Struct
    order: Getter  # (*scalars, *encoded texts and list items, *shape, [content]) -> arguments


@dataclass(frozen=True, slots=True)
class Plan:
    """A layout compiled for the codec's fast path.

    CMPP bodies have at most two variable fields, a TEXT_LIST (SUBMIT's destinations) and then a CONTENT
    (Msg_Content), and each is preceded by its count or length octet.

    Decoding: the variable fields split the body into runs of fixed-width fields, one Struct each, the
    count or length octet ending the run before its field. The items of all runs, in order, form the
    "wire tuple", from which ``pick_scalars`` and ``pick_texts`` take the field values.

    Encoding: one Struct packs the header and the whole body, list items and content included, so it
    depends on the frame's shape (the count of list items and the content length, as present); one
    Packing per shape is made on first use and kept.
    """

    layout: Layout
    pdu_class: type[Pdu]
    runs: tuple[struct.Struct, ...]
    fixed_size: int  # octets of the header and every fixed-width field
    get_scalars: Getter  # U8, U32 and OCTETS values of a PDU, in wire order
    octets: tuple[tuple[int, int], ...]  # (index in the scalars, width) of each OCTETS field
    get_texts: Getter  # TEXT values of a PDU, in wire order
    text_pattern: re.Pattern[str]  # matches those values and the list's items joined by NUL when all fit
    list_name: str  # the TEXT_LIST field, or ""
    list_width: int
    content_name: str  # the CONTENT field, or ""
    pick_scalars: Getter
    pick_texts: Getter
    defaults: tuple[Any, ...]  # values of the dataclass fields this layout does not carry
    build: Builder  # (sequence, *scalars, *texts, [list], [content], *defaults) -> PDU
    packings: dict[tuple[int, ...], Packing]

    def packing(self, shape: tuple[int, ...]) -> Packing:
        """How to pack a frame with this many list items and this much content (as the layout has)."""
        packing = self.packings.get(shape)
        if packing is None:
            packing = _packing(self.layout, shape)
            if len(self.packings) >= _MAX_PACKINGS:
                self.packings.clear()
            self.packings[shape] = packing
        return packing


def _packing(layout: Layout, shape: tuple[int, ...]) -> Packing:
    scalars = sum(1 for field in layout if field.kind in _SCALAR_KINDS)
    texts = sum(1 for field in layout if field.kind is Kind.TEXT)
    items = shape[0] if any(field.kind is Kind.TEXT_LIST for field in layout) else 0
    # Index in (*scalars, *texts, *items, *shape, [content]) of each kind's next value.
    next_index = {"scalar": 0, "text": scalars, "item": scalars + texts, "count": scalars + texts + items}
    content_index = next_index["count"] + len(shape)
    codes = [">III"]
    order: list[int] = []

    def take(source: str, count: int = 1) -> None:
        order.extend(range(next_index[source], next_index[source] + count))
        next_index[source] += count

    for field in layout:
        if field.kind is Kind.TEXT_LIST:
            codes.append(_COUNT_CODE + f"{field.width}s" * items)
            take("count")
            take("item", items)
        elif field.kind is Kind.CONTENT:
            codes.append(f"{_COUNT_CODE}{shape[-1]}s")
            take("count")
            order.append(content_index)
        else:
            codes.append(_code(field))
            if field.kind is not Kind.RESERVED:
                take("text" if field.kind is Kind.TEXT else "scalar")
    return Packing(struct.Struct("".join(codes)), tuple_picker(order))


def _code(field: Field) -> str:
    """The Struct code of a fixed-width field."""
    match field.kind:
        case Kind.U8:
            return "B"
        case Kind.U32:
            return "I"
        case Kind.RESERVED:
            return f"{field.width}x"
        case _:
            return f"{field.width}s"


def compile_layout(layout: Layout, pdu_class: type[Pdu]) -> Plan:
    variable = [field.kind for field in layout if field.kind in (Kind.TEXT_LIST, Kind.CONTENT)]
    if variable not in ([], [Kind.TEXT_LIST], [Kind.CONTENT], [Kind.TEXT_LIST, Kind.CONTENT]):
        raise TypeError(f"the layout of {pdu_class.__name__} has variable fields {variable}")
    list_field = next((field for field in layout if field.kind is Kind.TEXT_LIST), None)
    content_field = next((field for field in layout if field.kind is Kind.CONTENT), None)
    scalar_names = [field.name for field in layout if field.kind in _SCALAR_KINDS]
    text_fields = [field for field in layout if field.kind is Kind.TEXT]
    octets = [(scalar_names.index(f.name), f.width) for f in layout if f.kind is Kind.OCTETS]

    # Decoding: the Struct codes of the runs between variable fields, and where each item of the wire
    # tuple belongs (a scalar, a text, or a count or length octet).
    codes: list[list[str]] = [[]]
    wire: list[Kind] = []
    for field in layout:
        if field.kind in (Kind.TEXT_LIST, Kind.CONTENT):
            codes[-1].append(_COUNT_CODE)
            codes.append([])
        else:
            codes[-1].append(_code(field))
        if field.kind is not Kind.RESERVED:
            wire.append(field.kind)
    runs = tuple(struct.Struct(">" + "".join(run)) for run in codes)

    text_pattern = "\0".join(f"[^\0]{{0,{field.width}}}" for field in text_fields)
    if list_field is not None:
        item = f"[^\0]{{0,{list_field.width}}}"
        text_pattern += f"(?:\0{item})*" if text_pattern else f"{item}(?:\0{item})*"
    carried = [
        "sequence",
        *scalar_names,
        *(field.name for field in text_fields),
        *(field.name for field in (list_field, content_field) if field is not None),
    ]
    missing = [f for f in fields(pdu_class) if f.name not in carried]
    if any(f.default is MISSING for f in missing):
        raise TypeError(f"the layout of {pdu_class.__name__} lacks a field without a default")
    return Plan(
        layout=layout,
        pdu_class=pdu_class,
        runs=runs,
        fixed_size=12 + sum(run.size for run in runs),
        get_scalars=tuple_getter(scalar_names),
        octets=tuple(octets),
        get_texts=tuple_getter([field.name for field in text_fields]),
        text_pattern=re.compile(text_pattern),
        list_name=list_field.name if list_field else "",
        list_width=list_field.width if list_field else 0,
        content_name=content_field.name if content_field else "",
        pick_scalars=tuple_picker([i for i, kind in enumerate(wire) if kind in _SCALAR_KINDS]),
        pick_texts=tuple_picker([i for i, kind in enumerate(wire) if kind is Kind.TEXT]),
        defaults=tuple(f.default for f in missing),
        build=slot_builder(pdu_class, [*carried, *(f.name for f in missing)]),
        packings={} if variable else {(): _packing(layout, ())},
    )


PLANS: dict[CmppVersion, dict[int, Plan]] = {
    version: {
        command_id: compile_layout(layout, PDU_CLASSES[command_id]) for command_id, layout in layouts.items()
    }
    for version, layouts in LAYOUTS.items()
}
