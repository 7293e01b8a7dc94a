"""Fixed-width wire layouts (CMPP, SGIP, SMGP) and what is compiled from them: codecs and frame writers.

Each protocol declares its bodies once, as tables of `Field`s in wire order (`cmpp/layout.py`,
`sgip/layout.py`, `smgp/layout.py`), and says how its frames differ in a `Dialect` (the header's sequence,
how text is carried, what follows the last field). Everything that reads or writes those bodies comes
from the tables:

- the field walk (`encode_fields`, `decode_fields`): one field at a time, slow, and the one that says
  which field is at fault;
- the `Plan` each layout is compiled into at import (`encode_plan`, `decode_plan`): a whole frame packed
  or unpacked by a few precompiled Structs, texts checked and converted a whole PDU at a time, the PDU
  assembled without keyword arguments. Whatever it cannot vouch for (a value out of range, a short
  body) it hands to the field walk, which gives the same bytes and PDUs or raises the precise error;
- `FrameTemplate`, which cuts a template PDU's frame into the octets of its fixed fields and slots for
  the fields that change per message, for the hot-path writers in each protocol's `frames.py`.

So a writer cannot drift from its codec, and each is held to it by differential tests.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Collection, Iterable
from dataclasses import MISSING, dataclass, fields
from enum import Enum, auto
from typing import Any

from smsplatform.protocols.errors import PduDecodeError, ProtocolError
from smsplatform.protocols.fastpath import Getter, slot_builder, tuple_getter, tuple_picker

_U32_MAX = 0xFFFFFFFF
_NUL = b"\0"
_MAX_PACKINGS = 1024  # per plan; real traffic repeats a few shapes (one number, common content lengths)


class Kind(Enum):
    U8 = auto()  # unsigned integer, 1 octet
    U32 = auto()  # unsigned integer, 4 octets big-endian
    OCTETS = auto()  # exactly `width` raw octets (message ids, authenticators)
    TEXT = auto()  # text right-padded with NUL to `width` (see Dialect.nul_ends_text)
    TEXT_LIST = auto()  # 1-octet count within `limits`, then that many TEXT fields of `width`
    CONTENT = auto()  # its length in `width` octets (1 or 4), then that many raw octets
    SEQUENCE = auto()  # 12 octets: three U32s making the dialect's three-part sequence (SGIP)
    RESERVED = auto()  # `width` octets sent as zeros, ignored when read; no dataclass field
    TLVS = auto()  # optional parameters filling the rest of the body (SMGP); last if present


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    width: int = 0
    label: str = ""  # the field's name in error messages (the spec's), when not `name`
    limits: tuple[int, int] = (0, 0xFF)  # fewest and most items of a TEXT_LIST
    count_label: str = ""  # the name of a TEXT_LIST's count or a CONTENT's length, in error messages

    @property
    def called(self) -> str:
        return self.label or self.name


Layout = tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one protocol's frames differ around the same field kinds.

    The header is the 4-octet length, the 4-octet command id, then the sequence: one U32, or with
    `split_sequence`/`join_sequence` three U32s making one value (SGIP), as SEQUENCE fields are too.
    Texts are `encoding`; with `nul_ends_text` they may not hold NUL and a NUL ends them when read (as C
    peers write them), else only the trailing NULs are padding. Octets after the last field are refused
    unless `ignore_trailing` (peers pad responses) or the layout ends in TLVS, read and written by
    `decode_tlvs` and `encode_tlvs`.
    """

    name: str
    max_frame_size: int
    encoding: str = "ascii"
    nul_ends_text: bool = True
    ignore_trailing: bool = False
    split_sequence: Getter | None = None
    join_sequence: Callable[..., Any] | None = None
    encode_tlvs: Callable[[Any], bytes] | None = None
    decode_tlvs: Callable[[bytes], tuple[Any, ...]] | None = None

    @property
    def sequence_codes(self) -> str:
        return "I" if self.split_sequence is None else "III"

    @property
    def header_size(self) -> int:
        return 8 + 4 * len(self.sequence_codes)

    def sequence_parts(self, sequence: Any) -> tuple[Any, ...]:
        return (sequence,) if self.split_sequence is None else self.split_sequence(sequence)


def _length_code(field: Field) -> str:
    """The Struct code of a TEXT_LIST's count or a CONTENT's length."""
    return "I" if field.kind is Kind.CONTENT and field.width == 4 else "B"


def _code(field: Field) -> str:
    """The Struct code of a fixed-width field."""
    match field.kind:
        case Kind.U8:
            return "B"
        case Kind.U32:
            return "I"
        case Kind.SEQUENCE:
            return "III"
        case Kind.RESERVED:
            return f"{field.width}x"
        case _:
            return f"{field.width}s"


_SCALAR_KINDS = (Kind.U8, Kind.U32, Kind.OCTETS, Kind.SEQUENCE)
_VARIABLE_KINDS = (Kind.TEXT_LIST, Kind.CONTENT)


# --- compiled form ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Packing:
    """How to pack a whole frame of one shape: the Struct and the order of its arguments."""

    struct: struct.Struct
    order: Getter  # (*scalars, *encoded texts and list items, *shape, [content]) -> arguments


@dataclass(frozen=True, slots=True)
class Plan:
    """A layout compiled for the fast path.

    Bodies have at most two variable fields, a TEXT_LIST and then a CONTENT, each preceded by its count
    or length, and may end in TLVS.

    Decoding: the variable fields split the body into runs of fixed-width fields, one Struct each, the
    count or length ending the run before its field. The items of all runs, in order, form the "wire
    tuple", from which ``pick_scalars`` and ``pick_texts`` take the field values (a SEQUENCE's three
    items are then joined into one, at each of ``sequences``).

    Encoding: one Struct packs the header and the whole body, list items and content included, so it
    depends on the frame's shape (the count of list items and the content length, as present); one
    Packing per shape is made on first use and kept. TLVs follow it.
    """

    layout: Layout
    pdu_class: type[Any]
    dialect: Dialect
    header_size: int  # the dialect's, kept here for the hot path as are the next four
    encoding: str
    nul_ends_text: bool
    ignore_trailing: bool
    split_sequence: Getter | None
    runs: tuple[struct.Struct, ...]
    fixed_size: int  # octets of the header and every fixed-width field
    get_scalars: Getter  # U8, U32, OCTETS and SEQUENCE values of a PDU, in wire order
    octets: tuple[tuple[int, int], ...]  # (index in the scalars, width) of each OCTETS field
    sequences: tuple[int, ...]  # index in the scalars of each SEQUENCE field
    get_texts: Getter  # TEXT values of a PDU, in wire order
    text_pattern: re.Pattern[str]  # matches those values and the list's items joined by NUL when all fit
    list_field: Field | None
    content_field: Field | None
    tlvs_name: str  # the TLVS field, or ""
    pick_scalars: Getter
    pick_texts: Getter
    defaults: tuple[Any, ...]  # values of the dataclass fields this layout does not carry
    build: Callable[
        [tuple[Any, ...]], Any
    ]  # (sequence, *scalars, *texts, [list], [content], [tlvs], *defaults)
    packings: dict[tuple[int, ...], Packing]

    def packing(self, shape: tuple[int, ...]) -> Packing:
        """How to pack a frame with this many list items and this much content (as the layout has)."""
        packing = self.packings.get(shape)
        if packing is None:
            packing = _packing(self.layout, self.dialect, shape)
            if len(self.packings) >= _MAX_PACKINGS:
                self.packings.clear()
            self.packings[shape] = packing
        return packing


def _packing(layout: Layout, dialect: Dialect, shape: tuple[int, ...]) -> Packing:
    scalars = sum(3 if field.kind is Kind.SEQUENCE else 1 for field in layout if field.kind in _SCALAR_KINDS)
    texts = sum(1 for field in layout if field.kind is Kind.TEXT)
    items = shape[0] if any(field.kind is Kind.TEXT_LIST for field in layout) else 0
    # Index in (*scalars, *texts, *items, *shape, [content]) of each kind's next value.
    next_index = {"scalar": 0, "text": scalars, "item": scalars + texts, "count": scalars + texts + items}
    content_index = next_index["count"] + len(shape)
    codes = [">II" + dialect.sequence_codes]
    order: list[int] = []

    def take(source: str, count: int = 1) -> None:
        order.extend(range(next_index[source], next_index[source] + count))
        next_index[source] += count

    for field in layout:
        if field.kind is Kind.TEXT_LIST:
            codes.append(_length_code(field) + f"{field.width}s" * items)
            take("count")
            take("item", items)
        elif field.kind is Kind.CONTENT:
            codes.append(f"{_length_code(field)}{shape[-1]}s")
            take("count")
            order.append(content_index)
        elif field.kind is Kind.SEQUENCE:
            codes.append("III")
            take("scalar", 3)
        elif field.kind is not Kind.TLVS:
            codes.append(_code(field))
            if field.kind is not Kind.RESERVED:
                take("text" if field.kind is Kind.TEXT else "scalar")
    return Packing(struct.Struct("".join(codes)), tuple_picker(order))


def compile_layout(layout: Layout, pdu_class: type[Any], dialect: Dialect) -> Plan:
    variable = [field.kind for field in layout if field.kind in _VARIABLE_KINDS]
    if variable not in ([], [Kind.TEXT_LIST], [Kind.CONTENT], [Kind.TEXT_LIST, Kind.CONTENT]):
        raise TypeError(f"the layout of {pdu_class.__name__} has variable fields {variable}")
    if any(field.kind is Kind.TLVS for field in layout[:-1]):
        raise TypeError(f"the TLVs of {pdu_class.__name__} are not its last field")
    list_field = next((field for field in layout if field.kind is Kind.TEXT_LIST), None)
    content_field = next((field for field in layout if field.kind is Kind.CONTENT), None)
    tlvs_field = next((field for field in layout if field.kind is Kind.TLVS), None)
    scalar_fields = [field for field in layout if field.kind in _SCALAR_KINDS]
    scalar_names = [field.name for field in scalar_fields]
    text_fields = [field for field in layout if field.kind is Kind.TEXT]

    # Decoding: the Struct codes of the runs between variable fields, and where each item of the wire
    # tuple belongs (a scalar, a text, or a count or length).
    codes: list[list[str]] = [[]]
    wire: list[Kind] = []
    for field in layout:
        if field.kind is Kind.TLVS:
            continue
        if field.kind in _VARIABLE_KINDS:
            codes[-1].append(_length_code(field))
            codes.append([])
            wire.append(field.kind)
        else:
            codes[-1].append(_code(field))
            if field.kind is not Kind.RESERVED:
                wire.extend([field.kind] * (3 if field.kind is Kind.SEQUENCE else 1))
    runs = tuple(struct.Struct(">" + "".join(run)) for run in codes)

    text_pattern = "\0".join(f"[^\0]{{0,{field.width}}}" for field in text_fields)
    if list_field is not None:
        item = f"[^\0]{{0,{list_field.width}}}"
        text_pattern += f"(?:\0{item})*" if text_pattern else f"{item}(?:\0{item})*"
    carried = [
        "sequence",
        *scalar_names,
        *(field.name for field in text_fields),
        *(field.name for field in (list_field, content_field, tlvs_field) if field is not None),
    ]
    missing = [f for f in fields(pdu_class) if f.name not in carried]
    if any(f.default is MISSING for f in missing):
        raise TypeError(f"the layout of {pdu_class.__name__} lacks a field without a default")
    if Kind.SEQUENCE in wire and dialect.join_sequence is None:
        raise TypeError(f"{dialect.name} has no three-part sequence for {pdu_class.__name__}")
    return Plan(
        layout=layout,
        pdu_class=pdu_class,
        dialect=dialect,
        header_size=dialect.header_size,
        encoding=dialect.encoding,
        nul_ends_text=dialect.nul_ends_text,
        ignore_trailing=dialect.ignore_trailing,
        split_sequence=dialect.split_sequence,
        runs=runs,
        fixed_size=dialect.header_size + sum(run.size for run in runs),
        get_scalars=tuple_getter(scalar_names),
        octets=tuple((scalar_fields.index(f), f.width) for f in layout if f.kind is Kind.OCTETS),
        sequences=tuple(i for i, f in enumerate(scalar_fields) if f.kind is Kind.SEQUENCE),
        get_texts=tuple_getter([field.name for field in text_fields]),
        text_pattern=re.compile(text_pattern),
        list_field=list_field,
        content_field=content_field,
        tlvs_name=tlvs_field.name if tlvs_field else "",
        pick_scalars=tuple_picker([i for i, kind in enumerate(wire) if kind in _SCALAR_KINDS]),
        pick_texts=tuple_picker([i for i, kind in enumerate(wire) if kind is Kind.TEXT]),
        defaults=tuple(f.default for f in missing),
        build=slot_builder(pdu_class, [*carried, *(f.name for f in missing)]),
        packings={} if variable else {(): _packing(layout, dialect, ())},
    )


def compile_layouts(
    layouts: dict[int, Layout], pdu_classes: dict[int, type[Any]], dialect: Dialect
) -> dict[int, Plan]:
    return {
        command_id: compile_layout(layout, pdu_classes[command_id], dialect)
        for command_id, layout in layouts.items()
    }


# --- the two ways through a plan -------------------------------------------------------------------


def encode(plan: Plan, pdu: Any) -> bytes:
    """The whole frame for `pdu`; ValueError naming the field when the wire cannot carry a value."""
    try:
        frame = encode_plan(plan, pdu)
    except (struct.error, TypeError, ValueError, AttributeError):
        frame = None
    if frame is None:
        # The fast path met a value it cannot vouch for; the field walk names the field at fault.
        return encode_fields(plan, pdu)
    return frame


def decode(plan: Plan, frame: bytes, command_id: int, sequence: Any) -> Any:
    """The PDU in a whole frame whose header was read; PduDecodeError when its body does not fit."""
    try:
        pdu = decode_plan(plan, frame, sequence)
    except (struct.error, ValueError, ProtocolError):
        pdu = None
    if pdu is None:
        # The fast path met a body it cannot vouch for; the field walk says what is wrong with it.
        return decode_fields(plan, frame, command_id, sequence)
    return pdu


def unknown_command(dialect: Dialect, command_id: int, sequence: Any) -> PduDecodeError[Any]:
    return PduDecodeError(f"unknown {dialect.name} command id", command_id=command_id, sequence=sequence)


# --- fast path ---------------------------------------------------------------------------------------
#
# Each returns None, or lets struct.error, TypeError, ValueError, AttributeError (or, decoding TLVs,
# ProtocolError) out, when it cannot vouch for the result; the field walk below then runs instead, so both
# paths give the same bytes, the same PDUs and the same errors.


def encode_plan(plan: Plan, pdu: Any) -> bytes | None:
    texts = plan.get_texts(pdu)
    size = plan.fixed_size
    shape: tuple[int, ...] = ()
    list_field = plan.list_field
    if list_field is not None:
        items = getattr(pdu, list_field.name)
        low, high = list_field.limits
        if not isinstance(items, (tuple, list)) or not low <= len(items) <= high:
            return None
        texts += tuple(items)
        shape = (len(items),)
        size += len(items) * list_field.width
    if texts:
        # One pass for every text and list item: NUL can separate them because the pattern lets none hold
        # it (one that does adds a part, and goes to the field walk), and it checks each one's width.
        joined = "\0".join(texts)
        if plan.text_pattern.fullmatch(joined) is None:
            return None
        encoded: tuple[Any, ...] = tuple(joined.encode(plan.encoding).split(_NUL))
        if len(encoded) != len(texts):
            return None
    else:
        encoded = ()
    scalars = plan.get_scalars(pdu)
    for index, width in plan.octets:
        value = scalars[index]
        if not isinstance(value, bytes) or len(value) != width:
            return None
    if plan.sequences:
        scalars = _split_sequences(plan, scalars)
    tlvs = b""
    if plan.tlvs_name:
        values = getattr(pdu, plan.tlvs_name)
        if values != ():  # anything but no TLVs at all is refused as the field walk refuses it
            tlvs = plan.dialect.encode_tlvs(values)  # type: ignore[misc]
            size += len(tlvs)
    if plan.content_field is not None:
        content = getattr(pdu, plan.content_field.name)
        if type(content) is not bytes:
            return None
        shape += (len(content),)
        size += len(content)
        packing = plan.packing(shape)
        arguments = packing.order((*scalars, *encoded, *shape, content))
    else:
        packing = plan.packing(shape)
        arguments = packing.order((*scalars, *encoded, *shape))
    if size > plan.dialect.max_frame_size:
        return None
    split = plan.split_sequence
    if split is None:
        frame = packing.struct.pack(size, pdu.command_id, pdu.sequence, *arguments)
    else:
        frame = packing.struct.pack(size, pdu.command_id, *split(pdu.sequence), *arguments)
    return frame + tlvs if tlvs else frame


def _split_sequences(plan: Plan, scalars: tuple[Any, ...]) -> tuple[Any, ...]:
    split = plan.dialect.split_sequence
    flat: list[Any] = list(scalars)
    for index in reversed(plan.sequences):
        flat[index : index + 1] = split(flat[index])  # type: ignore[misc]
    return tuple(flat)


def decode_plan(plan: Plan, frame: bytes, sequence: Any) -> Any:
    runs = plan.runs
    header_size = plan.header_size
    wire = runs[0].unpack_from(frame, header_size)
    position = header_size + runs[0].size
    variables: tuple[Any, ...] = ()
    list_field = plan.list_field
    if list_field is not None:
        width = list_field.width
        count = wire[-1]  # the run before a variable field ends with its count
        low, high = list_field.limits
        end = position + count * width
        if not low <= count <= high or end > len(frame):
            return None
        if count == 1 and plan.nul_ends_text:  # one number, as nearly every submit has: _plan_text, inlined
            variables = ((frame[position:end].partition(_NUL)[0].decode(plan.encoding),),)
        else:
            variables = (
                tuple([_plan_text(plan, frame[at : at + width]) for at in range(position, end, width)]),
            )
        wire += runs[1].unpack_from(frame, end)
        position = end + runs[1].size
    if plan.content_field is not None:
        end = position + wire[-1]
        if end > len(frame):
            return None
        variables += (frame[position:end],)
        wire += runs[-1].unpack_from(frame, end)
        position = end + runs[-1].size
    if plan.tlvs_name:
        variables += (plan.dialect.decode_tlvs(frame[position:]) if position < len(frame) else (),)  # type: ignore[misc]
    elif position != len(frame) and not plan.ignore_trailing:
        return None
    encoding = plan.encoding
    if plan.nul_ends_text:
        texts = [raw.partition(_NUL)[0].decode(encoding) for raw in plan.pick_texts(wire)]
    else:
        texts = [raw.rstrip(_NUL).decode(encoding) for raw in plan.pick_texts(wire)]
    if plan.sequences:
        return plan.build(
            (sequence, *_join_sequences(plan, plan.pick_scalars(wire)), *texts, *variables, *plan.defaults)
        )
    return plan.build((sequence, *plan.pick_scalars(wire), *texts, *variables, *plan.defaults))


def _plan_text(plan: Plan, raw: bytes) -> str:
    if plan.nul_ends_text:
        return raw.partition(_NUL)[0].decode(plan.encoding)
    return raw.rstrip(_NUL).decode(plan.encoding)


def _join_sequences(plan: Plan, scalars: tuple[Any, ...]) -> tuple[Any, ...]:
    join = plan.dialect.join_sequence
    joined: list[Any] = list(scalars)
    for index in plan.sequences:  # each SEQUENCE before this one has already become one item
        joined[index : index + 3] = [join(*joined[index : index + 3])]  # type: ignore[misc]
    return tuple(joined)


# --- field walk --------------------------------------------------------------------------------------


def encode_fields(plan: Plan, pdu: Any) -> bytes:
    """``encode`` done field by field: slower, but says which field the wire cannot carry."""
    dialect = plan.dialect
    body = bytearray()
    for field in plan.layout:
        value = None if field.kind is Kind.RESERVED else getattr(pdu, field.name)
        _write_field(dialect, field, value, body)
    size = dialect.header_size + len(body)
    if size > dialect.max_frame_size:
        raise ValueError(f"{dialect.name} frame of {size} octets exceeds {dialect.max_frame_size}")
    header = bytearray(size.to_bytes(4, "big") + int(pdu.command_id).to_bytes(4, "big"))
    if dialect.split_sequence is None:
        header += _check_int("sequence", pdu.sequence, _U32_MAX).to_bytes(4, "big")
    else:
        header += struct.pack(">III", *dialect.split_sequence(pdu.sequence))
    return bytes(header + body)


def _check_int(name: str, value: object, maximum: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name}={value!r} is not an integer in 0..{maximum}")
    return value


def _text_bytes(dialect: Dialect, name: str, value: object, width: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name}={value!r} is not text")
    try:
        raw = value.encode(dialect.encoding)
    except UnicodeEncodeError:
        raise ValueError(f"{name}={value!r} is not {dialect.encoding} text") from None
    if dialect.nul_ends_text and _NUL in raw:
        raise ValueError(f"{name}={value!r} contains NUL")
    if len(raw) > width:
        raise ValueError(f"{name}={value!r} does not fit {width} octets")
    return raw.ljust(width, _NUL)


def _write_field(dialect: Dialect, field: Field, value: Any, out: bytearray) -> None:
    name = field.called
    match field.kind:
        case Kind.U8:
            out.append(_check_int(name, value, 0xFF))
        case Kind.U32:
            out += _check_int(name, value, _U32_MAX).to_bytes(4, "big")
        case Kind.OCTETS:
            if not isinstance(value, bytes) or len(value) != field.width:
                raise ValueError(f"{name}={value!r} is not {field.width} octets")
            out += value
        case Kind.TEXT:
            out += _text_bytes(dialect, name, value, field.width)
        case Kind.TEXT_LIST:
            if not isinstance(value, tuple | list):
                raise ValueError(f"{name}={value!r} is not a sequence of text")
            low, high = field.limits
            if not low <= len(value) <= high:
                raise ValueError(f"{field.count_label or name} {len(value)} is outside {low}..{high}")
            out.append(len(value))
            for item in value:
                out += _text_bytes(dialect, name, item, field.width)
        case Kind.CONTENT:
            if not isinstance(value, bytes):
                raise ValueError(f"{name}={value!r} is not bytes")
            maximum = (1 << 8 * field.width) - 1
            if len(value) > maximum:
                raise ValueError(f"{name} of {len(value)} octets is over {maximum}")
            out += len(value).to_bytes(field.width, "big")
            out += value
        case Kind.SEQUENCE:
            out += struct.pack(">III", *dialect.split_sequence(value))  # type: ignore[misc]
        case Kind.RESERVED:
            out += bytes(field.width)
        case Kind.TLVS:
            out += dialect.encode_tlvs(value)  # type: ignore[misc]


class _Cursor:
    """Reads a body front to back; running off the end is a ProtocolError."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, size: int, name: str) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise ProtocolError(f"body ends inside {name} ({len(self._data) - self._pos} of {size} octets)")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk

    def remaining(self) -> int:
        return len(self._data) - self._pos


def _read_text(dialect: Dialect, raw: bytes, name: str) -> str:
    # With nul_ends_text, peers written in C stop at the first NUL: whatever follows it is padding.
    raw = raw.partition(_NUL)[0] if dialect.nul_ends_text else raw.rstrip(_NUL)
    try:
        return raw.decode(dialect.encoding)
    except UnicodeDecodeError:
        raise ProtocolError(f"{name} is not {dialect.encoding}: {raw!r}") from None


def decode_fields(plan: Plan, frame: bytes, command_id: int, sequence: Any) -> Any:
    """The body of ``frame`` read field by field: slower, but says what is wrong with a bad one."""
    dialect = plan.dialect
    try:
        values = _read_body(dialect, plan.layout, frame[dialect.header_size :])
    except ProtocolError as exc:
        raise PduDecodeError(
            f"malformed {dialect.name} {plan.pdu_class.__name__}: {exc}",
            command_id=command_id,
            sequence=sequence,
        ) from None
    return plan.pdu_class(sequence=sequence, **values)


def _read_body(dialect: Dialect, layout: Layout, body: bytes) -> dict[str, Any]:
    cursor = _Cursor(body)
    values: dict[str, Any] = {}
    for field in layout:
        name = field.called
        match field.kind:
            case Kind.U8:
                values[field.name] = cursor.take(1, name)[0]
            case Kind.U32:
                values[field.name] = int.from_bytes(cursor.take(4, name), "big")
            case Kind.OCTETS:
                values[field.name] = cursor.take(field.width, name)
            case Kind.TEXT:
                values[field.name] = _read_text(dialect, cursor.take(field.width, name), name)
            case Kind.TEXT_LIST:
                count_label = field.count_label or f"count of {name}"
                count = cursor.take(1, count_label)[0]
                low, high = field.limits
                if not low <= count <= high:
                    # Refused as the encoder refuses it, so that every PDU decoded can be sent on as it came.
                    raise ProtocolError(f"{count_label} {count} is outside {low}..{high}")
                values[field.name] = tuple(
                    _read_text(dialect, cursor.take(field.width, name), name) for _ in range(count)
                )
            case Kind.CONTENT:
                length = int.from_bytes(
                    cursor.take(field.width, field.count_label or f"length of {name}"), "big"
                )
                values[field.name] = cursor.take(length, name)
            case Kind.SEQUENCE:
                values[field.name] = dialect.join_sequence(*struct.unpack(">III", cursor.take(12, name)))  # type: ignore[misc]
            case Kind.RESERVED:
                cursor.take(field.width, "reserved octets")
            case Kind.TLVS:
                values[field.name] = dialect.decode_tlvs(cursor.rest())  # type: ignore[misc]
    if cursor.remaining() and not dialect.ignore_trailing:
        raise ProtocolError(f"{cursor.remaining()} octets left over after the body")
    return values


# --- frame templates -------------------------------------------------------------------------------


class FrameTemplate:
    """The frame of a template PDU cut into the octets of its fixed fields and Struct codes for the rest.

    The fields named in `per_message` are written by each frame: a U8 as "B", a U32 as "I", a SEQUENCE as
    "III", a TEXT or OCTETS field as its width of octets, a TEXT_LIST as one item (its count, always 1, is
    fixed), a CONTENT field as its length (the content follows the packed part). Each is preceded by the
    fixed octets since the one before it, perhaps none, so a frame packs (header, fixed, field, fixed,
    field, ...) with `head`, then its content, then `tail`. TLVs, if any, follow the tail.

    `pack(size, command_id, sequence parts, per-message values in wire order)` does the interleaving.
    """

    __slots__ = ("fixed", "head", "order", "size", "tail", "widths")

    def __init__(self, frame: bytes, layout: Layout, dialect: Dialect, per_message: Collection[str]) -> None:
        codes = [">II" + dialect.sequence_codes]
        fixed: list[bytes] = []
        widths: dict[str, int] = {}
        start = position = dialect.header_size
        for field in layout:
            if field.kind is Kind.TEXT_LIST:
                position += 1  # the count octet
            if field.kind is Kind.CONTENT:
                width, code = field.width, _length_code(field)
            elif field.kind is Kind.SEQUENCE:
                width, code = 12, "III"
            elif field.kind is Kind.TLVS:
                continue
            else:
                width, code = field.width, _code(field)
            if field.name in per_message:
                fixed.append(frame[start:position])
                codes += (f"{position - start}s", code)
                widths[field.name] = width
                start = position + width
            position += width
        if len(widths) != len(per_message):
            raise TypeError(f"not every one of {sorted(per_message)} is a field of this layout")
        self.head = struct.Struct("".join(codes))
        self.fixed = tuple(fixed)
        self.tail = frame[start:]
        self.size = len(frame)  # with no content and no TLVs
        self.widths = widths

    def texts(self, dialect: Dialect, values: Iterable[tuple[str, str]]) -> list[bytes] | None:
        """Per-message texts (field name, value) as their octets, or None unless each fits its field."""
        encoded: list[bytes] = []
        for name, value in values:
            try:
                raw = value.encode(dialect.encoding)
            except (UnicodeEncodeError, AttributeError):
                return None
            if len(raw) > self.widths[name] or (dialect.nul_ends_text and _NUL in raw):
                return None
            encoded.append(raw)
        return encoded
