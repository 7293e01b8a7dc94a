"""CMPP framing and body coding, sans-IO.

Every frame is Total_Length(4) Command_Id(4) Sequence_Id(4) then the body. ``encode``/``decode`` handle one
whole frame; ``PduReader`` cuts frames out of a byte stream the way h11 does, so the connector owns the
socket and this module never blocks or reads the clock.

Each PDU is first tried on the plan compiled from its layout (``layout.Plan``), which packs or unpacks a
whole frame with a few precompiled Structs. When the plan cannot vouch for the result (a value the wire
cannot carry, a malformed body), the fields are walked one by one instead, which gives the same bytes and
PDUs and raises the precise error; so the plan only ever makes things faster.
"""

from __future__ import annotations

import struct
from typing import Any

from smsplatform.protocols.cmpp.errors import PduDecodeError
from smsplatform.protocols.cmpp.layout import (
    LAYOUTS,
    PDU_CLASSES,
    PLANS,
    Field,
    Kind,
    Layout,
    Plan,
    compile_layout,
    fixed_size,
    layouts_by_body_size,
)
from smsplatform.protocols.cmpp.pdu import CmppVersion, CommandId, Pdu
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.framing import LengthPrefixedReader

HEADER_SIZE = 12
# The largest legal frame is a 3.0 SUBMIT to 255 numbers with 255 content octets (about 8.5 KiB); anything
# far beyond that is a peer out of step, not a message.
MAX_FRAME_SIZE = 64 * 1024

_U32_MAX = 0xFFFFFFFF
_HEADER = struct.Struct(">III")
_NUL = b"\0"

# For fixed-size bodies the size picks the layout whatever the negotiated version (see layouts_by_body_size).
_BY_BODY_SIZE: dict[int, dict[int, Plan]] = {
    command_id: {
        size: compile_layout(layout, PDU_CLASSES[command_id])
        for size, layout in layouts_by_body_size(command_id).items()
    }
    for command_id in CommandId
    if all(fixed_size(LAYOUTS[version][command_id]) is not None for version in CmppVersion)
}


def encode(pdu: Pdu, version: CmppVersion) -> bytes:
    """The whole frame for ``pdu`` in the layout of ``version``.

    Raises ValueError for values the wire cannot carry (text too long or not ASCII, integers out of range,
    Msg_Id not 8 octets, more than 255 content octets); silently cutting a phone number would be worse.
    """
    try:
        frame = _encode_plan(PLANS[version][pdu.command_id], pdu)
    except (struct.error, TypeError, ValueError, AttributeError):
        frame = None
    if frame is None:
        # The fast path met a value it cannot vouch for; the field walk names the field at fault.
        return _encode_fields(pdu, version)
    return frame


def _encode_fields(pdu: Pdu, version: CmppVersion) -> bytes:
    """``encode`` done field by field: slower, but says which field the wire cannot carry."""
    body = bytearray()
    for field in LAYOUTS[version][pdu.command_id]:
        value = None if field.kind is Kind.RESERVED else getattr(pdu, field.name)
        _write_field(field, value, body)
    sequence = _check_int("sequence", pdu.sequence, _U32_MAX)
    header = (HEADER_SIZE + len(body)).to_bytes(4, "big") + int(pdu.command_id).to_bytes(4, "big")
    return header + sequence.to_bytes(4, "big") + bytes(body)


def decode(frame: bytes, version: CmppVersion) -> Pdu:
    """The PDU in one whole frame.

    Raises ProtocolError when the frame is not one frame (length field disagrees with its size), and its
    subclass PduDecodeError, carrying Command_Id and Sequence_Id, when the header is sound but the command is
    unknown or the body does not fit its layout.
    """
    if len(frame) < HEADER_SIZE:
        raise ProtocolError(f"frame of {len(frame)} octets is shorter than the {HEADER_SIZE}-octet header")
    total_length, raw_command_id, sequence = _HEADER.unpack_from(frame)
    if total_length != len(frame):
        raise ProtocolError(f"Total_Length {total_length} disagrees with a frame of {len(frame)} octets")
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    by_size = _BY_BODY_SIZE.get(raw_command_id)
    if by_size is None:
        plan = PLANS[version].get(raw_command_id)
        if plan is None:
            raise PduDecodeError("unknown Command_Id", command_id=raw_command_id, sequence=sequence)
    else:
        plan = by_size.get(total_length - HEADER_SIZE)
        if plan is None:
            raise PduDecodeError(
                f"body of {total_length - HEADER_SIZE} octets fits no layout",
                command_id=raw_command_id,
                sequence=sequence,
            )
    try:
        pdu = _decode_plan(plan, frame, sequence)
    except (struct.error, ValueError):
        pdu = None
    if pdu is None:
        # The fast path met a body it cannot vouch for; the field walk says what is wrong with it.
        return _decode_fields(plan.layout, plan.pdu_class, frame, raw_command_id, sequence)
    return pdu


def _decode_fields(layout: Layout, pdu_class: type[Pdu], frame: bytes, command_id: int, sequence: int) -> Pdu:
    """The body of ``frame`` read field by field: slower, but says what is wrong with a bad one."""
    try:
        values = _read_body(layout, memoryview(frame)[HEADER_SIZE:])
    except ProtocolError as exc:
        raise PduDecodeError(str(exc), command_id=command_id, sequence=sequence) from None
    pdu: Pdu = pdu_class(sequence=sequence, **values)
    return pdu


class PduReader(LengthPrefixedReader[Pdu]):
    """Cuts PDUs out of a CMPP byte stream (see `protocols.framing.LengthPrefixedReader`).

    ``version`` may be changed once CONNECT has settled it; it applies to frames decoded afterwards.
    """

    __slots__ = ("version",)

    def __init__(self, version: CmppVersion, *, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self.version = version
        super().__init__(
            self._decode_frame,
            header_size=HEADER_SIZE,
            max_frame_size=max_frame_size,
            framing_error=_framing_error,
        )

    def _decode_frame(self, frame: bytes) -> Pdu:
        return decode(frame, self.version)


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return ProtocolError(f"Total_Length {length} outside {smallest}..{largest}")


# --- fast path: compiled plans (see layout.Plan) -------------------------------------------------------
#
# Each returns None, or lets struct.error, TypeError, ValueError or AttributeError out, when it cannot
# vouch for the result; the field walk below then runs instead, so both paths give the same bytes, the same
# PDUs and the same errors.


def _encode_plan(plan: Plan, pdu: Any) -> bytes | None:
    texts = plan.get_texts(pdu)
    size = plan.fixed_size
    shape: tuple[int, ...] = ()
    if plan.list_name:
        items = getattr(pdu, plan.list_name)
        if not isinstance(items, (tuple, list)) or not items:
            return None
        texts += tuple(items)
        shape = (len(items),)
        size += len(items) * plan.list_width
    if texts:
        # One pass for every text and list item: NUL can separate them because none may contain it (an
        # item that does adds a part), and the plan's pattern checks each one's width.
        joined = "\0".join(texts)
        if not joined.isascii() or plan.text_pattern.fullmatch(joined) is None:
            return None
        encoded: tuple[Any, ...] = tuple(joined.encode("ascii").split(_NUL))
        if len(encoded) != len(texts):
            return None
    else:
        encoded = ()
    scalars = plan.get_scalars(pdu)
    for index, width in plan.octets:
        value = scalars[index]
        if not isinstance(value, bytes) or len(value) != width:
            return None
    if plan.content_name:
        content = getattr(pdu, plan.content_name)
        if not isinstance(content, bytes):
            return None
        shape += (len(content),)
        size += len(content)
        packing = plan.packing(shape)
        arguments = packing.order((*scalars, *encoded, *shape, content))
    else:
        packing = plan.packing(shape)
        arguments = packing.order((*scalars, *encoded, *shape))
    return packing.struct.pack(size, pdu.command_id, pdu.sequence, *arguments)


def _decode_plan(plan: Plan, frame: bytes, sequence: int) -> Pdu | None:
    runs = plan.runs
    wire = runs[0].unpack_from(frame, HEADER_SIZE)
    position = HEADER_SIZE + runs[0].size
    variables: tuple[Any, ...] = ()
    if plan.list_name:
        width = plan.list_width
        end = position + wire[-1] * width  # the run before a variable field ends with its count
        if end > len(frame):
            return None
        if end - position == width:  # one number, as nearly every submit has: _text, inlined
            variables = ((frame[position:end].partition(_NUL)[0].decode("ascii"),),)
        else:
            variables = (
                tuple([_text(frame[start : start + width]) for start in range(position, end, width)]),
            )
        wire += runs[1].unpack_from(frame, end)
        position = end + runs[1].size
    if plan.content_name:
        end = position + wire[-1]
        if end > len(frame):
            return None
        variables += (frame[position:end],)
        wire += runs[-1].unpack_from(frame, end)
        position = end + runs[-1].size
    if position != len(frame):
        return None
    texts = [raw.partition(_NUL)[0].decode("ascii") for raw in plan.pick_texts(wire)]  # _text, inlined
    return plan.build((sequence, *plan.pick_scalars(wire), *texts, *variables, *plan.defaults))


def _text(raw: bytes) -> str:
    # Peers written in C stop at the first NUL; whatever follows it is padding, not text.
    return raw.partition(_NUL)[0].decode("ascii")


# --- field walk ------------------------------------------------------------------------------------------


def _check_int(name: str, value: object, maximum: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{name}={value!r} is not an integer in 0..{maximum}")
    return value


def _text_bytes(name: str, value: object, width: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name}={value!r} is not text")
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{name}={value!r} is not ASCII") from None
    if len(raw) > width or b"\0" in raw:
        raise ValueError(f"{name}={value!r} does not fit {width} NUL-padded octets")
    return raw.ljust(width, b"\0")


def _write_field(field: Field, value: object, out: bytearray) -> None:
    name = field.name
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
            out += _text_bytes(name, value, field.width)
        case Kind.TEXT_LIST:
            if not isinstance(value, tuple | list):
                raise ValueError(f"{name}={value!r} is not a sequence of text")
            out.append(_check_int(f"len({name})", len(value), 0xFF))
            for item in value:
                out += _text_bytes(name, item, field.width)
        case Kind.CONTENT:
            if not isinstance(value, bytes):
                raise ValueError(f"{name}={value!r} is not bytes")
            out.append(_check_int(f"len({name})", len(value), 0xFF))
            out += value
        case Kind.RESERVED:
            out += bytes(field.width)


class _Cursor:
    """Reads a body front to back; running off the end is a ProtocolError."""

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._pos = 0

    def take(self, size: int) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise ProtocolError(f"body ends {end - len(self._data)} octets short")
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk

    def text(self, size: int) -> str:
        # Peers written in C stop at the first NUL; whatever follows it is padding, not text.
        raw = self.take(size).split(b"\0", 1)[0]
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise ProtocolError(f"non-ASCII octets in a text field: {raw!r}") from None

    def remaining(self) -> int:
        return len(self._data) - self._pos


def _read_body(layout: Layout, body: memoryview) -> dict[str, Any]:
    cursor = _Cursor(body)
    values: dict[str, Any] = {}
    for field in layout:
        match field.kind:
            case Kind.U8:
                values[field.name] = cursor.take(1)[0]
            case Kind.U32:
                values[field.name] = int.from_bytes(cursor.take(4), "big")
            case Kind.OCTETS:
                values[field.name] = cursor.take(field.width)
            case Kind.TEXT:
                values[field.name] = cursor.text(field.width)
            case Kind.TEXT_LIST:
                count = cursor.take(1)[0]
                values[field.name] = tuple(cursor.text(field.width) for _ in range(count))
            case Kind.CONTENT:
                values[field.name] = cursor.take(cursor.take(1)[0])
            case Kind.RESERVED:
                cursor.take(field.width)
    if cursor.remaining():
        raise ProtocolError(f"{cursor.remaining()} octets left over after the body")
    return values
