"""SMGP frames: PacketLength(4) RequestID(4) SequenceID(4), then the body (spec §5.2.1).

`encode`/`decode` turn one PDU into one whole frame and back; `PduReader` cuts a byte stream into
frames, in the manner of h11: the link feeds it whatever the socket gave and asks for PDUs.

Encoding a value that does not fit its field raises ValueError (a bug in the caller); decoding
bytes that make no sense raises ProtocolError, and `PduDecodeError` when the frame's RequestID
and SequenceID could still be read, so the link can answer it and go on.
"""

import re
import struct
from collections.abc import Callable
from typing import Any, Final, assert_never

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.fastpath import slot_builder
from smsplatform.protocols.framing import LengthPrefixedReader
from smsplatform.protocols.smgp.errors import PduDecodeError
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
    Pdu,
    Submit,
    SubmitResp,
)
from smsplatform.protocols.smgp.tlv import Tlv, decode_tlvs, encode_tlvs
from smsplatform.protocols.smgp.wire import TEXT_ENCODING, BodyReader, put_raw, put_text, put_uint

HEADER: Final = struct.Struct(">III")
HEADER_LENGTH: Final = HEADER.size
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


def encode(pdu: Pdu) -> bytes:
    """The whole frame for `pdu`, header included."""
    fast = _FAST_ENCODERS.get(type(pdu))
    if fast is not None:
        try:
            frame = fast(pdu)
        except (struct.error, TypeError, ValueError, AttributeError):
            frame = None
        if frame is not None:
            return frame
    # No fast path for this PDU, or one that cannot vouch for its values: the writer names the field.
    return _encode_fields(pdu)


def _encode_fields(pdu: Pdu) -> bytes:
    """`encode` field by field: slower, but says which field does not fit."""
    out = bytearray(HEADER_LENGTH)
    match pdu:
        case Login():
            _encode_login(out, pdu)
        case LoginResp():
            _encode_login_resp(out, pdu)
        case Submit():
            _encode_submit(out, pdu)
        case SubmitResp() | DeliverResp():
            put_raw(out, pdu.msg_id, MSG_ID_LENGTH, "MsgID")
            put_uint(out, pdu.status, 4, "Status")
        case Deliver():
            _encode_deliver(out, pdu)
        case ActiveTest() | ActiveTestResp() | Exit() | ExitResp():
            pass
        case _:
            assert_never(pdu)
    if not 0 <= pdu.sequence <= 0xFFFFFFFF:
        raise ValueError(f"SequenceID must fit in 4 unsigned octets, got {pdu.sequence}")
    HEADER.pack_into(out, 0, len(out), pdu.command_id, pdu.sequence)
    return bytes(out)


def decode(frame: bytes) -> Pdu:
    """The PDU in one whole frame, such as `PduReader` cuts from a stream."""
    if len(frame) < HEADER_LENGTH:
        raise ProtocolError(f"frame of {len(frame)} octets is shorter than the {HEADER_LENGTH}-octet header")
    packet_length, command_id, sequence = HEADER.unpack_from(frame)
    if packet_length != len(frame):
        raise ProtocolError(f"PacketLength {packet_length} does not match the frame's {len(frame)} octets")
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    fast = _FAST_DECODERS.get(command_id)
    if fast is not None:
        try:
            pdu = fast(sequence, frame)
        except (struct.error, ValueError, ProtocolError):
            pdu = None
        if pdu is not None:
            return pdu
    # No fast path for this command, or a body it cannot vouch for: the reader says what is wrong.
    return _decode_fields(frame, command_id, sequence)


def _decode_fields(frame: bytes, command_id: int, sequence: int) -> Pdu:
    """The PDU in a whole frame, read field by field: slower, but says what is wrong with a bad one."""
    body_decoder = _BODY_DECODERS.get(command_id)
    if body_decoder is None:
        raise PduDecodeError(
            f"unknown RequestID {command_id:#010x}", command_id=command_id, sequence=sequence
        )
    try:
        return body_decoder(sequence, BodyReader(frame[HEADER_LENGTH:]))
    except ProtocolError as exc:
        name = CommandId(command_id).name
        raise PduDecodeError(f"{name}: {exc}", command_id=command_id, sequence=sequence) from exc


class PduReader(LengthPrefixedReader[Pdu]):
    """Sans-IO framing of an SMGP stream (see `protocols.framing.LengthPrefixedReader`).

    A PacketLength outside [12, max_packet_length] means the stream can no longer be cut into
    frames; the reader raises ProtocolError and keeps raising it, since the link must close.
    """

    __slots__ = ()

    def __init__(self, max_packet_length: int = MAX_PACKET_LENGTH) -> None:
        super().__init__(
            decode, header_size=HEADER_LENGTH, max_frame_size=max_packet_length, framing_error=_framing_error
        )


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return ProtocolError(f"PacketLength {length} outside {smallest}..{largest}; the stream is out of step")


def _encode_login(out: bytearray, pdu: Login) -> None:
    put_text(out, pdu.client_id, CLIENT_ID_WIDTH, "ClientID")
    put_raw(out, pdu.authenticator_client, AUTHENTICATOR_LENGTH, "AuthenticatorClient")
    put_uint(out, pdu.login_mode, 1, "LoginMode")
    put_uint(out, pdu.timestamp, 4, "TimeStamp")
    put_uint(out, pdu.client_version, 1, "ClientVersion")


def _decode_login(sequence: int, body: BodyReader) -> Login:
    return Login(
        sequence,
        client_id=body.text(CLIENT_ID_WIDTH, "ClientID"),
        authenticator_client=body.raw(AUTHENTICATOR_LENGTH, "AuthenticatorClient"),
        login_mode=body.uint(1, "LoginMode"),
        timestamp=body.uint(4, "TimeStamp"),
        client_version=body.uint(1, "ClientVersion"),
    )


def _encode_login_resp(out: bytearray, pdu: LoginResp) -> None:
    put_uint(out, pdu.status, 4, "Status")
    put_raw(out, pdu.authenticator_server, AUTHENTICATOR_LENGTH, "AuthenticatorServer")
    put_uint(out, pdu.server_version, 1, "ServerVersion")


def _decode_login_resp(sequence: int, body: BodyReader) -> LoginResp:
    return LoginResp(
        sequence,
        status=body.uint(4, "Status"),
        authenticator_server=body.raw(AUTHENTICATOR_LENGTH, "AuthenticatorServer"),
        server_version=body.uint(1, "ServerVersion"),
    )


def _put_content(out: bytearray, content: bytes) -> None:
    if len(content) > MAX_MSG_LENGTH:
        raise ValueError(f"MsgContent holds at most {MAX_MSG_LENGTH} octets, got {len(content)}")
    out.append(len(content))
    out += content


def _encode_submit(out: bytearray, pdu: Submit) -> None:
    put_uint(out, pdu.msg_type, 1, "MsgType")
    put_uint(out, pdu.need_report, 1, "NeedReport")
    put_uint(out, pdu.priority, 1, "Priority")
    put_text(out, pdu.service_id, SERVICE_ID_WIDTH, "ServiceID")
    put_text(out, pdu.fee_type, FEE_TYPE_WIDTH, "FeeType")
    put_text(out, pdu.fee_code, FEE_CODE_WIDTH, "FeeCode")
    put_text(out, pdu.fixed_fee, FEE_CODE_WIDTH, "FixedFee")
    put_uint(out, pdu.msg_format, 1, "MsgFormat")
    put_text(out, pdu.valid_time, 17, "ValidTime")
    put_text(out, pdu.at_time, 17, "AtTime")
    put_text(out, pdu.src_term_id, TERM_ID_WIDTH, "SrcTermID")
    put_text(out, pdu.charge_term_id, TERM_ID_WIDTH, "ChargeTermID")
    if len(pdu.dest_term_ids) > MAX_DEST_TERM_IDS:
        raise ValueError(f"at most {MAX_DEST_TERM_IDS} DestTermIDs, got {len(pdu.dest_term_ids)}")
    out.append(len(pdu.dest_term_ids))
    for dest in pdu.dest_term_ids:
        put_text(out, dest, TERM_ID_WIDTH, "DestTermID")
    _put_content(out, pdu.msg_content)
    put_text(out, pdu.reserve, 8, "Reserve")
    encode_tlvs(out, pdu.tlvs)


def _decode_submit(sequence: int, body: BodyReader) -> Submit:
    msg_type = body.uint(1, "MsgType")
    need_report = body.uint(1, "NeedReport")
    priority = body.uint(1, "Priority")
    service_id = body.text(SERVICE_ID_WIDTH, "ServiceID")
    fee_type = body.text(FEE_TYPE_WIDTH, "FeeType")
    fee_code = body.text(FEE_CODE_WIDTH, "FeeCode")
    fixed_fee = body.text(FEE_CODE_WIDTH, "FixedFee")
    msg_format = body.uint(1, "MsgFormat")
    valid_time = body.text(17, "ValidTime")
    at_time = body.text(17, "AtTime")
    src_term_id = body.text(TERM_ID_WIDTH, "SrcTermID")
    charge_term_id = body.text(TERM_ID_WIDTH, "ChargeTermID")
    dest_count = body.uint(1, "DestTermIDCount")
    if dest_count > MAX_DEST_TERM_IDS:
        # Refused as the encoder refuses it, so that every Submit decoded can be sent on as it came.
        raise ProtocolError(f"DestTermIDCount {dest_count} is over {MAX_DEST_TERM_IDS}")
    dest_term_ids = tuple(body.text(TERM_ID_WIDTH, "DestTermID") for _ in range(dest_count))
    msg_content = body.raw(body.uint(1, "MsgLength"), "MsgContent")
    reserve = body.text(8, "Reserve")
    return Submit(
        sequence,
        msg_type=msg_type,
        need_report=need_report,
        priority=priority,
        service_id=service_id,
        fee_type=fee_type,
        fee_code=fee_code,
        fixed_fee=fixed_fee,
        msg_format=msg_format,
        valid_time=valid_time,
        at_time=at_time,
        src_term_id=src_term_id,
        charge_term_id=charge_term_id,
        dest_term_ids=dest_term_ids,
        msg_content=msg_content,
        reserve=reserve,
        tlvs=decode_tlvs(body),
    )


def _decode_submit_resp(sequence: int, body: BodyReader) -> SubmitResp:
    return SubmitResp(sequence, msg_id=body.raw(MSG_ID_LENGTH, "MsgID"), status=body.uint(4, "Status"))


def _encode_deliver(out: bytearray, pdu: Deliver) -> None:
    put_raw(out, pdu.msg_id, MSG_ID_LENGTH, "MsgID")
    put_uint(out, pdu.is_report, 1, "IsReport")
    put_uint(out, pdu.msg_format, 1, "MsgFormat")
    put_text(out, pdu.recv_time, 14, "RecvTime")
    put_text(out, pdu.src_term_id, TERM_ID_WIDTH, "SrcTermID")
    put_text(out, pdu.dest_term_id, TERM_ID_WIDTH, "DestTermID")
    _put_content(out, pdu.msg_content)
    put_text(out, pdu.reserve, 8, "Reserve")
    encode_tlvs(out, pdu.tlvs)


def _decode_deliver(sequence: int, body: BodyReader) -> Deliver:
    msg_id = body.raw(MSG_ID_LENGTH, "MsgID")
    is_report = body.uint(1, "IsReport")
    msg_format = body.uint(1, "MsgFormat")
    recv_time = body.text(14, "RecvTime")
    src_term_id = body.text(TERM_ID_WIDTH, "SrcTermID")
    dest_term_id = body.text(TERM_ID_WIDTH, "DestTermID")
    msg_content = body.raw(body.uint(1, "MsgLength"), "MsgContent")
    reserve = body.text(8, "Reserve")
    return Deliver(
        sequence,
        msg_id=msg_id,
        is_report=is_report,
        msg_format=msg_format,
        recv_time=recv_time,
        src_term_id=src_term_id,
        dest_term_id=dest_term_id,
        msg_content=msg_content,
        reserve=reserve,
        tlvs=decode_tlvs(body),
    )


def _decode_deliver_resp(sequence: int, body: BodyReader) -> DeliverResp:
    return DeliverResp(sequence, msg_id=body.raw(MSG_ID_LENGTH, "MsgID"), status=body.uint(4, "Status"))


# Octets after the fixed fields of a PDU without TLVs are ignored: some gateways pad responses,
# and refusing a Submit_Resp for it would lose the MsgID it carries.
_BODY_DECODERS: Final[dict[int, Callable[[int, BodyReader], Pdu]]] = {
    CommandId.LOGIN: _decode_login,
    CommandId.LOGIN_RESP: _decode_login_resp,
    CommandId.SUBMIT: _decode_submit,
    CommandId.SUBMIT_RESP: _decode_submit_resp,
    CommandId.DELIVER: _decode_deliver,
    CommandId.DELIVER_RESP: _decode_deliver_resp,
    CommandId.ACTIVE_TEST: lambda sequence, _body: ActiveTest(sequence),
    CommandId.ACTIVE_TEST_RESP: lambda sequence, _body: ActiveTestResp(sequence),
    CommandId.EXIT: lambda sequence, _body: Exit(sequence),
    CommandId.EXIT_RESP: lambda sequence, _body: ExitResp(sequence),
}


# --- fast path ------------------------------------------------------------------------------
#
# The PDUs of every message (Submit, Deliver and their responses) are also packed and unpacked whole by
# precompiled Structs, with their texts checked and converted in one pass, instead of a function call or
# two per field. Each returns None, or lets struct.error, TypeError, ValueError, AttributeError or
# ProtocolError out, when it cannot vouch for the result; the field-by-field writer and reader above then
# run instead and raise the precise error, so both paths give the same bytes, PDUs and errors.

_NUL = b"\x00"
_SUBMIT_FRONT = struct.Struct(">IIIBBB10s2s6s6sB17s17s21s21sB")  # header, MsgType .. DestTermIDCount
_DELIVER_FRONT = struct.Struct(">III10sBB14s21s21s")  # header, MsgID .. DestTermID
_ANSWER = struct.Struct(">III10sI")  # header, MsgID, Status
_SUBMIT_TEXTS = re.compile(
    "\0".join(f"[^\0]{{0,{width}}}" for width in (10, 2, 6, 6, 17, 17, TERM_ID_WIDTH, TERM_ID_WIDTH, 8))
    + f"(?:\0[^\0]{{0,{TERM_ID_WIDTH}}})*"
)
# A frozen dataclass's __init__ sets each field through object.__setattr__, which for a Submit costs
# about as much as reading its body: the decoders fill the slots directly, in wire order.
_build_submit = slot_builder(
    Submit,
    (
        "sequence",
        "msg_type",
        "need_report",
        "priority",
        "service_id",
        "fee_type",
        "fee_code",
        "fixed_fee",
        "msg_format",
        "valid_time",
        "at_time",
        "src_term_id",
        "charge_term_id",
        "dest_term_ids",
        "msg_content",
        "reserve",
        "tlvs",
    ),
)
_build_deliver = slot_builder(
    Deliver,
    (
        "sequence",
        "msg_id",
        "is_report",
        "msg_format",
        "recv_time",
        "src_term_id",
        "dest_term_id",
        "msg_content",
        "reserve",
        "tlvs",
    ),
)
_DELIVER_TEXTS = re.compile(
    "\0".join(f"[^\0]{{0,{width}}}" for width in (14, TERM_ID_WIDTH, TERM_ID_WIDTH, 8))
)


def _octets(texts: tuple[str, ...], pattern: re.Pattern[str]) -> list[bytes] | None:
    """The texts in their wire encoding when each fits the width ``pattern`` checks.

    One pass for them all, joined by NUL; a text that holds NUL itself (which the field may carry) adds a
    part and is left to the field-by-field writer.
    """
    joined = "\0".join(texts)
    if pattern.fullmatch(joined) is None:
        return None
    parts = joined.encode(TEXT_ENCODING).split(_NUL)
    return parts if len(parts) == len(texts) else None


def _text(raw: bytes) -> str:
    return raw.rstrip(_NUL).decode(TEXT_ENCODING)


def _tail(pdu: Submit | Deliver, reserve: bytes) -> bytes | None:
    """MsgLength, MsgContent, Reserve and the TLVs."""
    content = pdu.msg_content
    if not isinstance(content, bytes) or len(content) > MAX_MSG_LENGTH:
        return None
    tail = bytearray((len(content),))
    tail += content
    tail += reserve.ljust(8, _NUL)
    encode_tlvs(tail, pdu.tlvs)
    return bytes(tail)


def _fast_encode_submit(pdu: Submit) -> bytes | None:
    dests = pdu.dest_term_ids
    count = len(dests)
    if count > MAX_DEST_TERM_IDS:
        return None
    texts = _octets(
        (
            pdu.service_id,
            pdu.fee_type,
            pdu.fee_code,
            pdu.fixed_fee,
            pdu.valid_time,
            pdu.at_time,
            pdu.src_term_id,
            pdu.charge_term_id,
            pdu.reserve,
            *dests,
        ),
        _SUBMIT_TEXTS,
    )
    if texts is None:
        return None
    tail = _tail(pdu, texts[8])
    if tail is None:
        return None
    numbers = b"".join([dest.ljust(TERM_ID_WIDTH, _NUL) for dest in texts[9:]])
    length = _SUBMIT_FRONT.size + len(numbers) + len(tail)
    front = _SUBMIT_FRONT.pack(
        length,
        pdu.command_id,
        pdu.sequence,
        pdu.msg_type,
        pdu.need_report,
        pdu.priority,
        *texts[0:4],
        pdu.msg_format,
        *texts[4:8],
        count,
    )
    return b"".join((front, numbers, tail))


def _fast_decode_submit(sequence: int, frame: bytes) -> Submit | None:
    (
        *_,
        msg_type,
        need_report,
        priority,
        service_id,
        fee_type,
        fee_code,
        fixed_fee,
        msg_format,
        valid_time,
        at_time,
        src_term_id,
        charge_term_id,
        count,
    ) = _SUBMIT_FRONT.unpack_from(frame)
    if count > MAX_DEST_TERM_IDS:
        return None
    start = _SUBMIT_FRONT.size
    end = start + TERM_ID_WIDTH * count
    dests = tuple([_text(frame[at : at + TERM_ID_WIDTH]) for at in range(start, end, TERM_ID_WIDTH)])
    tail = _read_tail(frame, end)
    if tail is None:
        return None
    msg_content, reserve, tlvs = tail
    return _build_submit(
        (
            sequence,
            msg_type,
            need_report,
            priority,
            _text(service_id),
            _text(fee_type),
            _text(fee_code),
            _text(fixed_fee),
            msg_format,
            _text(valid_time),
            _text(at_time),
            _text(src_term_id),
            _text(charge_term_id),
            dests,
            msg_content,
            reserve,
            tlvs,
        )
    )


def _read_tail(frame: bytes, start: int) -> tuple[bytes, str, tuple[Tlv, ...]] | None:
    """MsgContent, Reserve and the TLVs, from the MsgLength octet at ``start``."""
    if start >= len(frame):
        return None
    end = start + 1 + frame[start]
    if end + 8 > len(frame):
        return None
    tlvs = decode_tlvs(BodyReader(frame[end + 8 :])) if end + 8 < len(frame) else ()
    return frame[start + 1 : end], _text(frame[end : end + 8]), tlvs


def _fast_encode_deliver(pdu: Deliver) -> bytes | None:
    texts = _octets((pdu.recv_time, pdu.src_term_id, pdu.dest_term_id, pdu.reserve), _DELIVER_TEXTS)
    msg_id = pdu.msg_id
    if texts is None or not isinstance(msg_id, bytes) or len(msg_id) != MSG_ID_LENGTH:
        return None
    tail = _tail(pdu, texts[3])
    if tail is None:
        return None
    front = _DELIVER_FRONT.pack(
        _DELIVER_FRONT.size + len(tail),
        pdu.command_id,
        pdu.sequence,
        msg_id,
        pdu.is_report,
        pdu.msg_format,
        *texts[0:3],
    )
    return front + tail


def _fast_decode_deliver(sequence: int, frame: bytes) -> Deliver | None:
    *_, msg_id, is_report, msg_format, recv_time, src_term_id, dest_term_id = _DELIVER_FRONT.unpack_from(
        frame
    )
    tail = _read_tail(frame, _DELIVER_FRONT.size)
    if tail is None:
        return None
    msg_content, reserve, tlvs = tail
    return _build_deliver(
        (
            sequence,
            msg_id,
            is_report,
            msg_format,
            _text(recv_time),
            _text(src_term_id),
            _text(dest_term_id),
            msg_content,
            reserve,
            tlvs,
        )
    )


def _fast_encode_answer(pdu: SubmitResp | DeliverResp) -> bytes | None:
    msg_id = pdu.msg_id
    if not isinstance(msg_id, bytes) or len(msg_id) != MSG_ID_LENGTH:
        return None
    return _ANSWER.pack(_ANSWER.size, pdu.command_id, pdu.sequence, msg_id, pdu.status)


def _fast_answer_decoder(cls: type[SubmitResp | DeliverResp]) -> Callable[[int, bytes], Pdu | None]:
    build = slot_builder(cls, ("sequence", "msg_id", "status"))

    def decode_answer(sequence: int, frame: bytes) -> Pdu | None:
        *_, msg_id, status = _ANSWER.unpack_from(frame)  # octets after Status are padding, ignored
        return build((sequence, msg_id, status))

    return decode_answer


_FAST_ENCODERS: Final[dict[type, Callable[[Any], bytes | None]]] = {
    Submit: _fast_encode_submit,
    Deliver: _fast_encode_deliver,
    SubmitResp: _fast_encode_answer,
    DeliverResp: _fast_encode_answer,
}
_FAST_DECODERS: Final[dict[int, Callable[[int, bytes], Pdu | None]]] = {
    CommandId.SUBMIT: _fast_decode_submit,
    CommandId.DELIVER: _fast_decode_deliver,
    CommandId.SUBMIT_RESP: _fast_answer_decoder(SubmitResp),
    CommandId.DELIVER_RESP: _fast_answer_decoder(DeliverResp),
}
