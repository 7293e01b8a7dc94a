"""SGIP 1.2 frames: PDU values to bytes and back, and a sans-IO reader that cuts a byte stream into PDUs.

Every frame is a 20-octet header (Message Length, Command ID, the three-part sequence number; all
big-endian unsigned) followed by the body of spec §4.2.3. Encoding a PDU whose fields do not fit their
wire widths is a bug in the caller and raises ValueError; bytes from a peer that do not parse raise
ProtocolError (`PduDecodeError` when the frame was whole and only its body is at fault).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from typing import Any, Final

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.framing import LengthPrefixedReader
from smsplatform.protocols.sgip.errors import PduDecodeError
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    CommandId,
    Deliver,
    DeliverResp,
    Pdu,
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

_HEADER = struct.Struct(">IIIII")
_U32 = struct.Struct(">I")
_SEQUENCE = struct.Struct(">III")

# Fixed widths of spec §4.2.3, in octets.
_PHONE = 21
_LOGIN = 16
_RESERVE = 8
_CORP_ID = 5
_SERVICE_TYPE = 10
_FEE = 6
_TIME = 16
# Those an operator types in when setting a link up, checked before it is saved.
PHONE_WIDTH: Final = _PHONE
LOGIN_WIDTH: Final = _LOGIN
CORP_ID_WIDTH: Final = _CORP_ID
SERVICE_TYPE_WIDTH: Final = _SERVICE_TYPE


class _BodyWriter:
    """Appends fields in wire order, checking each fits its width."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def text(self, name: str, value: str, width: int) -> None:
        try:
            raw = value.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"SGIP {name} must be ASCII: {value!r}") from None
        if b"\0" in raw:
            raise ValueError(f"SGIP {name} must not contain NUL: {value!r}")
        if len(raw) > width:
            raise ValueError(f"SGIP {name} is longer than {width} octets: {value!r}")
        self._parts.append(raw.ljust(width, b"\0"))

    def u8(self, name: str, value: int) -> None:
        if not 0 <= value <= 0xFF:
            raise ValueError(f"SGIP {name} {value} does not fit one octet")
        self._parts.append(bytes((value,)))

    def u32(self, name: str, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFF:
            raise ValueError(f"SGIP {name} {value} does not fit four octets")
        self._parts.append(_U32.pack(value))

    def sequence(self, value: SgipSequence) -> None:
        self._parts.append(_SEQUENCE.pack(value.node_id, value.timestamp, value.number))

    def octets(self, value: bytes) -> None:
        self._parts.append(value)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class _BodyError(Exception):
    """A body that does not match its command's layout; `decode` adds the header's identity."""


class _BodyReader:
    """Takes fields off a body in wire order, failing on anything short, long or not ASCII."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def _take(self, name: str, size: int) -> bytes:
        end = self._offset + size
        if end > len(self._data):
            raise _BodyError(f"body ends inside {name}")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def text(self, name: str, width: int) -> str:
        # C-string semantics: whatever follows the first NUL is padding, even if it is not zeros.
        raw = self._take(name, width).split(b"\0", 1)[0]
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise _BodyError(f"{name} is not ASCII: {raw!r}") from None

    def u8(self, name: str) -> int:
        return self._take(name, 1)[0]

    def u32(self, name: str) -> int:
        value: int = _U32.unpack(self._take(name, 4))[0]
        return value

    def sequence(self, name: str) -> SgipSequence:
        return SgipSequence(*_SEQUENCE.unpack(self._take(name, 12)))

    def octets(self, name: str, size: int) -> bytes:
        return self._take(name, size)

    def finish(self) -> None:
        extra = len(self._data) - self._offset
        if extra:
            raise _BodyError(f"{extra} octets after the last field")


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
    body = _encode_body(pdu)
    length = HEADER_LENGTH + len(body)
    if length > MAX_FRAME_LENGTH:
        raise ValueError(f"SGIP frame of {length} octets exceeds {MAX_FRAME_LENGTH}")
    sequence = pdu.sequence
    return _HEADER.pack(length, pdu.command_id, sequence.node_id, sequence.timestamp, sequence.number) + body


def _encode_body(pdu: Pdu) -> bytes:
    if isinstance(pdu, Unbind | UnbindResp):
        return b""
    out = _BodyWriter()
    match pdu:
        case Bind():
            out.u8("login_type", pdu.login_type)
            out.text("login_name", pdu.login_name, _LOGIN)
            out.text("login_password", pdu.login_password, _LOGIN)
        case Submit():
            _encode_submit(out, pdu)
        case Deliver():
            out.text("user_number", pdu.user_number, _PHONE)
            out.text("sp_number", pdu.sp_number, _PHONE)
            out.u8("tp_pid", pdu.tp_pid)
            out.u8("tp_udhi", pdu.tp_udhi)
            out.u8("message_coding", pdu.message_coding)
            out.u32("message_length", len(pdu.message_content))
            out.octets(pdu.message_content)
        case Report():
            out.sequence(pdu.submit_sequence)
            out.u8("report_type", pdu.report_type)
            out.text("user_number", pdu.user_number, _PHONE)
            out.u8("state", pdu.state)
            out.u8("error_code", pdu.error_code)
        case UserRpt():
            out.text("sp_number", pdu.sp_number, _PHONE)
            out.text("user_number", pdu.user_number, _PHONE)
            out.u8("user_condition", pdu.user_condition)
        case BindResp() | SubmitResp() | DeliverResp() | ReportResp() | UserRptResp():
            out.u8("result", pdu.result)
    out.text("reserve", pdu.reserve, _RESERVE)
    return out.getvalue()


def _encode_submit(out: _BodyWriter, pdu: Submit) -> None:
    if not 1 <= len(pdu.user_numbers) <= MAX_USER_NUMBERS:
        raise ValueError(
            f"SGIP Submit needs 1 to {MAX_USER_NUMBERS} user numbers, got {len(pdu.user_numbers)}"
        )
    out.text("sp_number", pdu.sp_number, _PHONE)
    out.text("charge_number", pdu.charge_number, _PHONE)
    out.u8("user_count", len(pdu.user_numbers))
    for number in pdu.user_numbers:
        out.text("user_number", number, _PHONE)
    out.text("corp_id", pdu.corp_id, _CORP_ID)
    out.text("service_type", pdu.service_type, _SERVICE_TYPE)
    out.u8("fee_type", pdu.fee_type)
    out.text("fee_value", pdu.fee_value, _FEE)
    out.text("given_value", pdu.given_value, _FEE)
    out.u8("agent_flag", pdu.agent_flag)
    out.u8("morelateto_mt_flag", pdu.morelateto_mt_flag)
    out.u8("priority", pdu.priority)
    out.text("expire_time", pdu.expire_time, _TIME)
    out.text("schedule_time", pdu.schedule_time, _TIME)
    out.u8("report_flag", pdu.report_flag)
    out.u8("tp_pid", pdu.tp_pid)
    out.u8("tp_udhi", pdu.tp_udhi)
    out.u8("message_coding", pdu.message_coding)
    out.u8("message_type", pdu.message_type)
    out.u32("message_length", len(pdu.message_content))
    out.octets(pdu.message_content)


def decode(frame: bytes) -> Pdu:
    """The PDU in `frame`, which must be exactly one whole frame."""
    if len(frame) < HEADER_LENGTH:
        raise ProtocolError(f"SGIP frame of {len(frame)} octets is shorter than the header")
    length, command_id, node_id, timestamp, number = _HEADER.unpack_from(frame)
    sequence = SgipSequence(node_id, timestamp, number)
    if length != len(frame):
        raise ProtocolError(f"SGIP Message Length {length} does not match the {len(frame)}-octet frame")
    if type(frame) is not bytes:
        frame = bytes(frame)  # fields are sliced out of it and must come out as bytes
    fast = _FAST_DECODERS.get(command_id)
    if fast is not None:
        try:
            pdu = fast(sequence, frame)
        except (struct.error, ValueError):
            pdu = None
        if pdu is not None:
            return pdu
    # No fast path for this command, or a body it cannot vouch for: the reader says what is wrong.
    return _decode_fields(frame, command_id, sequence)


def _decode_fields(frame: bytes, command_id: int, sequence: SgipSequence) -> Pdu:
    """The PDU in a whole frame, read field by field: slower, but says what is wrong with a bad one."""
    decoder = _DECODERS.get(command_id)
    if decoder is None:
        raise PduDecodeError(
            f"unsupported SGIP command id 0x{command_id:08x}", command_id=command_id, sequence=sequence
        )
    body = _BodyReader(frame[HEADER_LENGTH:])
    try:
        pdu = decoder(sequence, body)
        body.finish()
    except _BodyError as error:
        name = CommandId(command_id).name
        raise PduDecodeError(
            f"malformed SGIP {name}: {error}", command_id=command_id, sequence=sequence
        ) from None
    return pdu


def _decode_bind(sequence: SgipSequence, body: _BodyReader) -> Bind:
    return Bind(
        sequence=sequence,
        login_type=body.u8("login_type"),
        login_name=body.text("login_name", _LOGIN),
        login_password=body.text("login_password", _LOGIN),
        reserve=body.text("reserve", _RESERVE),
    )


def _decode_unbind(sequence: SgipSequence, body: _BodyReader) -> Unbind:
    return Unbind(sequence=sequence)


def _decode_unbind_resp(sequence: SgipSequence, body: _BodyReader) -> UnbindResp:
    return UnbindResp(sequence=sequence)


def _decode_submit(sequence: SgipSequence, body: _BodyReader) -> Submit:
    sp_number = body.text("sp_number", _PHONE)
    charge_number = body.text("charge_number", _PHONE)
    user_count = body.u8("user_count")
    if not 1 <= user_count <= MAX_USER_NUMBERS:
        raise _BodyError(f"UserCount {user_count} is outside 1-{MAX_USER_NUMBERS}")
    user_numbers = tuple(body.text("user_number", _PHONE) for _ in range(user_count))
    corp_id = body.text("corp_id", _CORP_ID)
    service_type = body.text("service_type", _SERVICE_TYPE)
    fee_type = body.u8("fee_type")
    fee_value = body.text("fee_value", _FEE)
    given_value = body.text("given_value", _FEE)
    agent_flag = body.u8("agent_flag")
    morelateto_mt_flag = body.u8("morelateto_mt_flag")
    priority = body.u8("priority")
    expire_time = body.text("expire_time", _TIME)
    schedule_time = body.text("schedule_time", _TIME)
    report_flag = body.u8("report_flag")
    tp_pid = body.u8("tp_pid")
    tp_udhi = body.u8("tp_udhi")
    message_coding = body.u8("message_coding")
    message_type = body.u8("message_type")
    message_content = body.octets("message_content", body.u32("message_length"))
    return Submit(
        sequence=sequence,
        sp_number=sp_number,
        charge_number=charge_number,
        user_numbers=user_numbers,
        corp_id=corp_id,
        service_type=service_type,
        fee_type=fee_type,
        fee_value=fee_value,
        given_value=given_value,
        agent_flag=agent_flag,
        morelateto_mt_flag=morelateto_mt_flag,
        priority=priority,
        expire_time=expire_time,
        schedule_time=schedule_time,
        report_flag=report_flag,
        tp_pid=tp_pid,
        tp_udhi=tp_udhi,
        message_coding=message_coding,
        message_type=message_type,
        message_content=message_content,
        reserve=body.text("reserve", _RESERVE),
    )


def _decode_deliver(sequence: SgipSequence, body: _BodyReader) -> Deliver:
    user_number = body.text("user_number", _PHONE)
    sp_number = body.text("sp_number", _PHONE)
    tp_pid = body.u8("tp_pid")
    tp_udhi = body.u8("tp_udhi")
    message_coding = body.u8("message_coding")
    message_content = body.octets("message_content", body.u32("message_length"))
    return Deliver(
        sequence=sequence,
        user_number=user_number,
        sp_number=sp_number,
        tp_pid=tp_pid,
        tp_udhi=tp_udhi,
        message_coding=message_coding,
        message_content=message_content,
        reserve=body.text("reserve", _RESERVE),
    )


def _decode_report(sequence: SgipSequence, body: _BodyReader) -> Report:
    return Report(
        sequence=sequence,
        submit_sequence=body.sequence("submit_sequence"),
        report_type=body.u8("report_type"),
        user_number=body.text("user_number", _PHONE),
        state=body.u8("state"),
        error_code=body.u8("error_code"),
        reserve=body.text("reserve", _RESERVE),
    )


def _decode_userrpt(sequence: SgipSequence, body: _BodyReader) -> UserRpt:
    return UserRpt(
        sequence=sequence,
        sp_number=body.text("sp_number", _PHONE),
        user_number=body.text("user_number", _PHONE),
        user_condition=body.u8("user_condition"),
        reserve=body.text("reserve", _RESERVE),
    )


def _result_decoder(
    cls: type[BindResp | SubmitResp | DeliverResp | ReportResp | UserRptResp],
) -> Callable[[SgipSequence, _BodyReader], Pdu]:
    def decode_result(sequence: SgipSequence, body: _BodyReader) -> Pdu:
        return cls(sequence=sequence, result=body.u8("result"), reserve=body.text("reserve", _RESERVE))

    return decode_result


_DECODERS: Final[dict[int, Callable[[SgipSequence, _BodyReader], Pdu]]] = {
    CommandId.BIND: _decode_bind,
    CommandId.BIND_RESP: _result_decoder(BindResp),
    CommandId.UNBIND: _decode_unbind,
    CommandId.UNBIND_RESP: _decode_unbind_resp,
    CommandId.SUBMIT: _decode_submit,
    CommandId.SUBMIT_RESP: _result_decoder(SubmitResp),
    CommandId.DELIVER: _decode_deliver,
    CommandId.DELIVER_RESP: _result_decoder(DeliverResp),
    CommandId.REPORT: _decode_report,
    CommandId.REPORT_RESP: _result_decoder(ReportResp),
    CommandId.USERRPT: _decode_userrpt,
    CommandId.USERRPT_RESP: _result_decoder(UserRptResp),
}


# --- fast path ------------------------------------------------------------------------------
#
# The PDUs of every message (Submit, Deliver, Report and the results answering them) are also packed and
# unpacked whole by precompiled Structs, with their texts checked and converted in one pass, instead of a
# method call or two per field. Each returns None, or lets struct.error, TypeError, ValueError or
# AttributeError out, when it cannot vouch for the result; the field-by-field writer and reader above
# then run instead and raise the precise error, so both paths give the same bytes, PDUs and errors.

_NUL = b"\0"
_SUBMIT_FRONT = struct.Struct(">IIIII21s21sB")  # header, SPNumber, ChargeNumber, UserCount
_SUBMIT_BACK = struct.Struct(">5s10sB6s6sBBB16s16sBBBBBI")  # CorpId .. MessageLength
_DELIVER_FRONT = struct.Struct(">IIIII21s21sBBBI")  # header, UserNumber, SPNumber .. MessageLength
_REPORT = struct.Struct(">IIIIIIIIB21sBB8s")  # header, SubmitSequenceNumber, ReportType .. Reserve
_RESULT = struct.Struct(">IIIIIB8s")  # header, Result, Reserve


def _texts_pattern(*widths: int, then_repeated: int = 0) -> re.Pattern[str]:
    """Matches texts of these widths joined by NUL, then (optionally) one or more of another width."""
    pattern = "\0".join(f"[^\0]{{0,{width}}}" for width in widths)
    if then_repeated:
        pattern += f"(?:\0[^\0]{{0,{then_repeated}}})+"
    return re.compile(pattern)


_SUBMIT_TEXTS = _texts_pattern(
    _PHONE, _PHONE, _CORP_ID, _SERVICE_TYPE, _FEE, _FEE, _TIME, _TIME, _RESERVE, then_repeated=_PHONE
)
_DELIVER_TEXTS = _texts_pattern(_PHONE, _PHONE, _RESERVE)
_REPORT_TEXTS = _texts_pattern(_PHONE, _RESERVE)
_RESERVE_TEXT = _texts_pattern(_RESERVE)


def _ascii(texts: tuple[str, ...], pattern: re.Pattern[str]) -> list[bytes] | None:
    """The texts as octets when all are ASCII without NUL and fit the widths ``pattern`` checks.

    One pass for them all: NUL can separate them because none may hold it (one that does adds a part).
    """
    joined = "\0".join(texts)
    if not joined.isascii() or pattern.fullmatch(joined) is None:
        return None
    parts = joined.encode("ascii").split(_NUL)
    return parts if len(parts) == len(texts) else None


def _fast_text(raw: bytes) -> str:
    # C-string semantics: whatever follows the first NUL is padding, even if it is not zeros.
    return raw.partition(_NUL)[0].decode("ascii")


def _fast_encode_submit(pdu: Submit) -> bytes | None:
    numbers = pdu.user_numbers
    count = len(numbers)
    if not 1 <= count <= MAX_USER_NUMBERS:
        return None
    texts = _ascii(
        (
            pdu.sp_number,
            pdu.charge_number,
            pdu.corp_id,
            pdu.service_type,
            pdu.fee_value,
            pdu.given_value,
            pdu.expire_time,
            pdu.schedule_time,
            pdu.reserve,
            *numbers,
        ),
        _SUBMIT_TEXTS,
    )
    if texts is None:
        return None
    content = pdu.message_content
    length = _SUBMIT_FRONT.size + _PHONE * count + _SUBMIT_BACK.size + len(content) + _RESERVE
    if length > MAX_FRAME_LENGTH:
        return None
    sequence = pdu.sequence
    return b"".join(
        (
            _SUBMIT_FRONT.pack(
                length,
                pdu.command_id,
                sequence.node_id,
                sequence.timestamp,
                sequence.number,
                *texts[:2],
                count,
            ),
            b"".join([number.ljust(_PHONE, _NUL) for number in texts[9:]]),
            _SUBMIT_BACK.pack(
                texts[2],
                texts[3],
                pdu.fee_type,
                texts[4],
                texts[5],
                pdu.agent_flag,
                pdu.morelateto_mt_flag,
                pdu.priority,
                texts[6],
                texts[7],
                pdu.report_flag,
                pdu.tp_pid,
                pdu.tp_udhi,
                pdu.message_coding,
                pdu.message_type,
                len(content),
            ),
            content,
            texts[8].ljust(_RESERVE, _NUL),
        )
    )


def _fast_decode_submit(sequence: SgipSequence, frame: bytes) -> Submit | None:
    *_, sp_number, charge_number, count = _SUBMIT_FRONT.unpack_from(frame)
    if not 1 <= count <= MAX_USER_NUMBERS:
        return None
    start = _SUBMIT_FRONT.size
    end = start + _PHONE * count
    numbers = tuple([_fast_text(frame[at : at + _PHONE]) for at in range(start, end, _PHONE)])
    (
        corp_id,
        service_type,
        fee_type,
        fee_value,
        given_value,
        agent_flag,
        morelateto_mt_flag,
        priority,
        expire_time,
        schedule_time,
        report_flag,
        tp_pid,
        tp_udhi,
        message_coding,
        message_type,
        message_length,
    ) = _SUBMIT_BACK.unpack_from(frame, end)
    start = end + _SUBMIT_BACK.size
    end = start + message_length
    if end + _RESERVE != len(frame):
        return None
    return Submit(
        sequence=sequence,
        sp_number=_fast_text(sp_number),
        charge_number=_fast_text(charge_number),
        user_numbers=numbers,
        corp_id=_fast_text(corp_id),
        service_type=_fast_text(service_type),
        fee_type=fee_type,
        fee_value=_fast_text(fee_value),
        given_value=_fast_text(given_value),
        agent_flag=agent_flag,
        morelateto_mt_flag=morelateto_mt_flag,
        priority=priority,
        expire_time=_fast_text(expire_time),
        schedule_time=_fast_text(schedule_time),
        report_flag=report_flag,
        tp_pid=tp_pid,
        tp_udhi=tp_udhi,
        message_coding=message_coding,
        message_type=message_type,
        message_content=frame[start:end],
        reserve=_fast_text(frame[end:]),
    )


def _fast_encode_deliver(pdu: Deliver) -> bytes | None:
    texts = _ascii((pdu.user_number, pdu.sp_number, pdu.reserve), _DELIVER_TEXTS)
    if texts is None:
        return None
    content = pdu.message_content
    length = _DELIVER_FRONT.size + len(content) + _RESERVE
    if length > MAX_FRAME_LENGTH:
        return None
    sequence = pdu.sequence
    front = _DELIVER_FRONT.pack(
        length,
        pdu.command_id,
        sequence.node_id,
        sequence.timestamp,
        sequence.number,
        texts[0],
        texts[1],
        pdu.tp_pid,
        pdu.tp_udhi,
        pdu.message_coding,
        len(content),
    )
    return b"".join((front, content, texts[2].ljust(_RESERVE, _NUL)))


def _fast_decode_deliver(sequence: SgipSequence, frame: bytes) -> Deliver | None:
    *_, user_number, sp_number, tp_pid, tp_udhi, message_coding, message_length = _DELIVER_FRONT.unpack_from(
        frame
    )
    end = _DELIVER_FRONT.size + message_length
    if end + _RESERVE != len(frame):
        return None
    return Deliver(
        sequence=sequence,
        user_number=_fast_text(user_number),
        sp_number=_fast_text(sp_number),
        tp_pid=tp_pid,
        tp_udhi=tp_udhi,
        message_coding=message_coding,
        message_content=frame[_DELIVER_FRONT.size : end],
        reserve=_fast_text(frame[end:]),
    )


def _fast_encode_report(pdu: Report) -> bytes | None:
    texts = _ascii((pdu.user_number, pdu.reserve), _REPORT_TEXTS)
    if texts is None:
        return None
    sequence, reported = pdu.sequence, pdu.submit_sequence
    return _REPORT.pack(
        _REPORT.size,
        pdu.command_id,
        sequence.node_id,
        sequence.timestamp,
        sequence.number,
        reported.node_id,
        reported.timestamp,
        reported.number,
        pdu.report_type,
        texts[0],
        pdu.state,
        pdu.error_code,
        texts[1],
    )


def _fast_decode_report(sequence: SgipSequence, frame: bytes) -> Report | None:
    # struct.error unless the frame is exactly this size
    *_, node_id, timestamp, number, report_type, user_number, state, error_code, reserve = _REPORT.unpack(
        frame
    )
    return Report(
        sequence=sequence,
        submit_sequence=SgipSequence(node_id, timestamp, number),
        report_type=report_type,
        user_number=_fast_text(user_number),
        state=state,
        error_code=error_code,
        reserve=_fast_text(reserve),
    )


_Result = BindResp | SubmitResp | DeliverResp | ReportResp | UserRptResp


def _fast_encode_result(pdu: _Result) -> bytes | None:
    texts = _ascii((pdu.reserve,), _RESERVE_TEXT)
    if texts is None:
        return None
    sequence = pdu.sequence
    return _RESULT.pack(
        _RESULT.size,
        pdu.command_id,
        sequence.node_id,
        sequence.timestamp,
        sequence.number,
        pdu.result,
        texts[0],
    )


def _fast_result_decoder(cls: type[_Result]) -> Callable[[SgipSequence, bytes], Pdu | None]:
    def decode_result(sequence: SgipSequence, frame: bytes) -> Pdu | None:
        *_, result, reserve = _RESULT.unpack(frame)  # struct.error unless the frame is exactly this size
        return cls(sequence=sequence, result=result, reserve=_fast_text(reserve))

    return decode_result


_RESULTS: Final = (BindResp, SubmitResp, DeliverResp, ReportResp, UserRptResp)
_FAST_ENCODERS: Final[dict[type, Callable[[Any], bytes | None]]] = {
    Submit: _fast_encode_submit,
    Deliver: _fast_encode_deliver,
    Report: _fast_encode_report,
    **{cls: _fast_encode_result for cls in _RESULTS},
}
_FAST_DECODERS: Final[dict[int, Callable[[SgipSequence, bytes], Pdu | None]]] = {
    CommandId.SUBMIT: _fast_decode_submit,
    CommandId.DELIVER: _fast_decode_deliver,
    CommandId.REPORT: _fast_decode_report,
    **{cls.command_id: _fast_result_decoder(cls) for cls in _RESULTS},
}


class PduReader(LengthPrefixedReader[Pdu]):
    """Cuts an SGIP byte stream into PDUs (see `protocols.framing.LengthPrefixedReader`).

    A Message Length outside [HEADER_LENGTH, max_frame_length] means framing is lost: it raises a plain
    ProtocolError, and so does every later call; the link should close.
    """

    __slots__ = ()

    def __init__(self, max_frame_length: int = MAX_FRAME_LENGTH) -> None:
        super().__init__(
            decode, header_size=HEADER_LENGTH, max_frame_size=max_frame_length, framing_error=_framing_error
        )


def _framing_error(length: int, smallest: int, largest: int) -> ProtocolError:
    return ProtocolError(f"SGIP Message Length {length} is outside {smallest}-{largest}")
