"""SMPP frames to PDUs and back, without I/O.

`encode` and `decode` work on one whole frame; `PduReader` cuts a byte stream into frames the way
h11 does for HTTP: feed it what the socket gave, then take PDUs until it has none.

C-Octet Strings are read and written as Latin-1. The spec allows only ASCII in them, which
Latin-1 carries unchanged, and mapping every octet keeps a peer's stray 8-bit byte from making a
PDU undecodable.

Each PDU is first tried on the plan compiled from its layout (`layout.Plan`), which handles a whole
body in a few C-level calls. When the plan cannot vouch for the result (a value out of range, a
malformed body), the fields are walked one by one instead, which gives the same bytes and PDUs and
raises the precise error; so the plan only ever makes things faster.
"""

import struct
from dataclasses import fields
from typing import Any

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.fastpath import slot_builder
from smsplatform.protocols.framing import LengthPrefixedReader
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.layout import LAYOUTS, MAX_SHORT_MESSAGE, PLANS, Field, Kind, Layout, Plan
from smsplatform.protocols.smpp.pdu import Pdu, is_response_id
from smsplatform.protocols.smpp.status import CommandStatus
from smsplatform.protocols.smpp.tlv import Tlv, decode_tlvs, encode_tlvs

__all__ = ["HEADER_LENGTH", "MAX_COMMAND_LENGTH", "PduReader", "decode", "encode"]

_HEADER = struct.Struct(">IIII")
HEADER_LENGTH = _HEADER.size
# The largest well-formed PDU is a data_sm whose message_payload TLV is full (65535 octets) next to
# the longest mandatory fields and a few other TLVs; anything beyond this is not a PDU.
MAX_COMMAND_LENGTH = 0x10000 + 0x1000
_U32_MAX = 0xFFFFFFFF
_MAX_SHORT_MESSAGE = MAX_SHORT_MESSAGE
_TLV_HEADER = struct.Struct(">HH")
_OCTET = tuple(bytes((value,)) for value in range(256))
# A tag and a length read off the wire fit their 16 bits by construction: Tlv's checks would find nothing.
_read_tlv = slot_builder(Tlv, ("tag", "value"), trusted=True)


# --- encoding -------------------------------------------------------------------------------


def encode(pdu: Pdu) -> bytes:
    """The whole frame for `pdu`, header included.

    `ValueError` when a field cannot be put on the wire as given (too long, out of range, not
    8-bit text): that is a mistake of ours, not of the peer.
    """
    try:
        frame = _encode_plan(PLANS[pdu.command_id], pdu)
    except (struct.error, TypeError, ValueError, AttributeError):
        frame = None
    if frame is None:
        # The fast path met a value it cannot vouch for; the field walk names the field at fault.
        return _encode_fields(pdu)
    return frame


def _encode_fields(pdu: Pdu) -> bytes:
    """`encode` done field by field: slower, but says which field the wire cannot carry."""
    layout = LAYOUTS[pdu.command_id]
    for name, value in (("sequence", pdu.sequence), ("command_status", pdu.command_status)):
        if not 0 <= value <= _U32_MAX:
            raise ValueError(f"{name} {value} is not an unsigned 32-bit integer")
    body = b"" if _omit_body(pdu, layout) else _encode_body(pdu, layout)
    return _HEADER.pack(HEADER_LENGTH + len(body), pdu.command_id, pdu.command_status, pdu.sequence) + body


def _encode_plan(plan: Plan, pdu: Any) -> bytes | None:
    """The frame by the plan; None, or struct.error, TypeError, ValueError or AttributeError, when unsure."""
    status = pdu.command_status
    if status and plan.layout.body_optional:
        return None  # an error response, whose body _omit_body may leave out
    values = plan.get_fields(pdu)
    strings = plan.pick_strings(values)
    # NUL can separate the strings because none may contain it; the pattern checks their lengths.
    if strings and plan.strings_pattern.fullmatch("\0".join(strings)) is None:
        return None
    bytes(plan.pick_ints(values))  # raises for anything but integers 0..255, as the field walk would
    # Latin-1 text maps each character to one octet: %c writes the integers, %s the strings, and encoding
    # refuses characters beyond 8 bits.
    body = (plan.format % values).encode("latin-1")
    size = HEADER_LENGTH + len(body)
    pieces = [b"", body]
    if plan.short_message:
        short_message = pdu.short_message
        length = len(short_message)
        if length > _MAX_SHORT_MESSAGE:
            return None
        pieces += (_OCTET[length], short_message)
        size += 1 + length
    # Anything but no TLVs at all goes through encode_tlvs, which refuses what the field walk refuses.
    if plan.layout.tlvs and pdu.tlvs != ():
        tlvs = encode_tlvs(pdu.tlvs)
        pieces.append(tlvs)
        size += len(tlvs)
    pieces[0] = _HEADER.pack(size, pdu.command_id, status, pdu.sequence)
    return b"".join(pieces)


def _omit_body(pdu: Pdu, layout: Layout) -> bool:
    """Error responses go out header-only (as spec §4.1.2 and §4.4.2 ask) when they say nothing more."""
    if not (layout.body_optional and pdu.command_status != 0):
        return False
    return all(getattr(pdu, f.name) == f.default for f in fields(pdu) if f.name not in _HEADER_FIELDS)


_HEADER_FIELDS = frozenset({"sequence", "command_status"})


def _encode_body(pdu: Pdu, layout: Layout) -> bytes:
    parts: list[bytes] = []
    for field in layout.fields:
        value = getattr(pdu, field.name)
        if field.kind is Kind.CSTRING:
            parts.append(_encode_cstring(field, value))
        elif field.kind is Kind.UINT8:
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{field.name} {value} does not fit one octet")
            parts.append(bytes((value,)))
        else:
            if len(value) > _MAX_SHORT_MESSAGE:
                raise ValueError(
                    f"short_message of {len(value)} octets exceeds {_MAX_SHORT_MESSAGE}; "
                    "use the message_payload TLV"
                )
            parts.append(bytes((len(value),)) + value)
    if layout.tlvs:
        parts.append(encode_tlvs(pdu.tlvs))  # type: ignore[union-attr]
    return b"".join(parts)


def _encode_cstring(field: Field, value: str) -> bytes:
    try:
        octets = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"{field.name} {value!r} is not 8-bit text") from None
    if b"\x00" in octets:
        raise ValueError(f"{field.name} {value!r} contains NUL")
    if len(octets) >= field.max_octets:
        raise ValueError(f"{field.name} {value!r} is longer than {field.max_octets - 1} characters")
    return octets + b"\x00"


# --- decoding -------------------------------------------------------------------------------


class _BodyError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def decode(frame: bytes) -> Pdu:
    """The PDU in `frame`, which must be exactly one whole frame.

    Raises `SmppDecodeError` (a `ProtocolError`) for anything malformed, never another exception.
    """
    if len(frame) < HEADER_LENGTH:
        raise SmppDecodeError(
            f"frame of {len(frame)} octets is shorter than the header", status=CommandStatus.ESME_RINVCMDLEN
        )
    length, command_id, command_status, sequence = _HEADER.unpack_from(frame)
    if length != len(frame):
        raise SmppDecodeError(
            f"command_length {length} does not match the frame's {len(frame)} octets",
            status=CommandStatus.ESME_RINVCMDLEN,
        )
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    return _decode_frame(frame, command_id, command_status, sequence)


def _decode_frame(frame: bytes, command_id: int, command_status: int, sequence: int) -> Pdu:
    plan = PLANS.get(command_id)
    if plan is None:
        raise SmppDecodeError(
            f"unknown command_id 0x{command_id:08X}",
            command_id=command_id,
            sequence=sequence,
            status=CommandStatus.ESME_RINVCMDID,
        )
    try:
        pdu = _decode_plan(plan, frame, command_status, sequence)
    except (struct.error, ValueError):
        pdu = None
    if pdu is None:
        # The fast path met a body it cannot vouch for; the field walk says what is wrong with it.
        return _decode_fields(plan.layout, frame, command_id, command_status, sequence)
    return pdu


def _decode_plan(plan: Plan, frame: bytes, command_status: int, sequence: int) -> Pdu | None:
    """The PDU by the plan; None, or struct.error or ValueError, when unsure."""
    size = len(frame)
    if size == HEADER_LENGTH and plan.layout.body_optional:
        return plan.build((sequence, command_status, *plan.empty))
    if plan.lone_cstring:
        # A response's body: its one string is found faster than the regular expression matches it.
        end = frame.find(b"\0", HEADER_LENGTH, HEADER_LENGTH + plan.lone_cstring)
        if end < 0:
            return None
        values: tuple[Any, ...] = (sequence, command_status, frame[HEADER_LENGTH:end].decode("latin-1"))
        position = end + 1
    else:
        match = plan.pattern.match(frame[HEADER_LENGTH : HEADER_LENGTH + plan.window].decode("latin-1"))
        if match is None:
            return None
        groups = match.groups()
        # Each integer is a one-character group: joined and encoded, they are the octets, read in one call.
        octets = "".join(plan.pick_ints(groups)).encode("latin-1")
        values = (sequence, command_status, *plan.pick_strings(groups), *octets)
        position = HEADER_LENGTH + match.end()
        if plan.short_message:
            end = position + ord(groups[-1])
            if end > size:
                return None
            values += (frame[position:end],)
            position = end
    if plan.layout.tlvs:
        tlvs = _read_tlvs(frame, position)
        if tlvs is None:
            return None
        values += (tlvs,)
    return plan.build(values + plan.defaults)


def _read_tlvs(frame: bytes, position: int) -> tuple[Tlv, ...] | None:
    """The optional parameters from `position` to the end of `frame`; None unless they fill it exactly."""
    end = len(frame)
    if position == end:
        return ()
    tlvs: list[Tlv] = []
    while position < end:
        tag, length = _TLV_HEADER.unpack_from(frame, position)  # struct.error for a cut header
        position += 4 + length
        if position > end:
            return None
        tlvs.append(_read_tlv((tag, frame[position - length : position])))
    return tuple(tlvs)


def _decode_fields(layout: Layout, frame: bytes, command_id: int, command_status: int, sequence: int) -> Pdu:
    """The body of `frame` read field by field: slower, but says what is wrong with a bad one."""
    body = memoryview(frame)[HEADER_LENGTH:]
    try:
        values = _decode_body(body, layout)
    except _BodyError as exc:
        kind = "response" if is_response_id(command_id) else "request"
        raise SmppDecodeError(
            f"{layout.pdu_class.__name__} {kind}: {exc}",
            command_id=command_id,
            sequence=sequence,
            status=exc.status,
        ) from None
    pdu: Pdu = layout.pdu_class(sequence=sequence, command_status=command_status, **values)
    return pdu


def _decode_body(body: memoryview, layout: Layout) -> dict[str, Any]:
    if not body and layout.body_optional:
        return {}
    values: dict[str, Any] = {}
    position = 0
    for field in layout.fields:
        if field.kind is Kind.CSTRING:
            window = bytes(body[position : position + field.max_octets])
            end = window.find(b"\x00")
            if end < 0:
                if len(window) < field.max_octets:
                    raise _BodyError(f"body ends inside {field.name}", CommandStatus.ESME_RINVCMDLEN)
                raise _BodyError(
                    f"{field.name} has no NUL within its {field.max_octets} octets", field.status
                )
            values[field.name] = window[:end].decode("latin-1")
            position += end + 1
        elif position >= len(body):
            raise _BodyError(f"body ends before {field.name}", CommandStatus.ESME_RINVCMDLEN)
        elif field.kind is Kind.UINT8:
            values[field.name] = body[position]
            position += 1
        else:
            sm_length = body[position]
            end = position + 1 + sm_length
            if sm_length > _MAX_SHORT_MESSAGE:
                # Refused as the encoder refuses it, so that every PDU decoded can be sent back as it came.
                raise _BodyError(
                    f"sm_length {sm_length} exceeds {_MAX_SHORT_MESSAGE}", CommandStatus.ESME_RINVMSGLEN
                )
            if end > len(body):
                raise _BodyError(f"sm_length {sm_length} overruns the body", CommandStatus.ESME_RINVMSGLEN)
            values[field.name] = bytes(body[position + 1 : end])
            position = end
    if layout.tlvs:
        try:
            values["tlvs"] = decode_tlvs(body[position:])
        except ProtocolError as exc:
            raise _BodyError(str(exc), CommandStatus.ESME_RINVOPTPARSTREAM) from None
    return values


# --- streams --------------------------------------------------------------------------------


class PduReader(LengthPrefixedReader[Pdu]):
    """Cuts a byte stream into PDUs (see `protocols.framing.LengthPrefixedReader`).

    A frame whose body is malformed is consumed and reported as `SmppDecodeError` with its
    command_id and sequence set; the PDUs after it are still read. A command_length outside
    16..`max_command_length` is an `SmppDecodeError` without them: the stream has lost its framing,
    the same error is raised on every later call, and the link must close.
    """

    __slots__ = ()

    def __init__(self, max_command_length: int = MAX_COMMAND_LENGTH) -> None:
        super().__init__(
            decode, header_size=HEADER_LENGTH, max_frame_size=max_command_length, framing_error=_framing_error
        )


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return SmppDecodeError(
        f"command_length {length} is outside {smallest}..{largest}", status=CommandStatus.ESME_RINVCMDLEN
    )
