"""SMGP frames: PacketLength(4) RequestID(4) SequenceID(4), then the body (spec §5.2.1).

`encode`/`decode` turn one PDU into one whole frame and back; `PduReader` cuts a byte stream into
frames, in the manner of h11: the link feeds it whatever the socket gave and asks for PDUs.

Encoding a value that does not fit its field raises ValueError (a bug in the caller); decoding
bytes that make no sense raises ProtocolError, and `PduDecodeError` when the frame's RequestID
and SequenceID could still be read, so the link can answer it and go on.
"""

import struct
from collections.abc import Callable
from typing import Final, assert_never

from smsplatform.protocols.errors import ProtocolError
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
from smsplatform.protocols.smgp.tlv import decode_tlvs, encode_tlvs
from smsplatform.protocols.smgp.wire import BodyReader, put_raw, put_text, put_uint

HEADER: Final = struct.Struct(">III")
HEADER_LENGTH: Final = HEADER.size
MAX_PACKET_LENGTH: Final = 64 * 1024
"""Far above the largest real PDU (a Submit to 100 recipients is under 3 KiB); a length beyond it
means the stream is out of step or hostile, and is refused before anything is buffered."""

MAX_MSG_LENGTH: Final = 0xFF
"""MsgLength is one octet. The spec caps MT content at 140; the gateway, not the codec, enforces that."""

TERM_ID_WIDTH: Final = 21


def encode(pdu: Pdu) -> bytes:
    """The whole frame for `pdu`, header included."""
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


class PduReader:
    """Sans-IO framing: feed received bytes with `receive_data`, take PDUs with `next_pdu`.

    A PacketLength outside [12, max_packet_length] means the stream can no longer be cut into
    frames; the reader raises ProtocolError and keeps raising it, since the link must close.
    A frame whose body cannot be decoded is consumed before `PduDecodeError` is raised, so the
    next call returns the frames after it.
    """

    __slots__ = ("_broken", "_buffer", "_max_packet_length", "_start")

    def __init__(self, max_packet_length: int = MAX_PACKET_LENGTH) -> None:
        self._buffer = bytearray()
        self._start = 0
        self._max_packet_length = max_packet_length
        self._broken: str | None = None  # why the stream fell out of step, once it has

    @property
    def buffered(self) -> int:
        """Octets of a partial frame held back; non-zero at end of stream means a truncated PDU."""
        return len(self._buffer) - self._start

    def receive_data(self, data: bytes) -> None:
        if self._broken is None:
            self._buffer += data

    def next_pdu(self) -> Pdu | None:
        if self._broken is not None:
            raise ProtocolError(self._broken)
        available = len(self._buffer) - self._start
        if available < 4:
            self._compact()
            return None
        packet_length = int.from_bytes(self._buffer[self._start : self._start + 4], "big")
        if not HEADER_LENGTH <= packet_length <= self._max_packet_length:
            self._broken = (
                f"PacketLength {packet_length} outside {HEADER_LENGTH}..{self._max_packet_length}; "
                "the stream is out of step"
            )
            self._buffer = bytearray()
            self._start = 0
            raise ProtocolError(self._broken)
        if available < packet_length:
            self._compact()
            return None
        frame = bytes(self._buffer[self._start : self._start + packet_length])
        self._start += packet_length
        return decode(frame)

    def _compact(self) -> None:
        # Dropping consumed octets only when waiting for more keeps a burst of frames linear.
        if self._start:
            del self._buffer[: self._start]
            self._start = 0


def _encode_login(out: bytearray, pdu: Login) -> None:
    put_text(out, pdu.client_id, 8, "ClientID")
    put_raw(out, pdu.authenticator_client, AUTHENTICATOR_LENGTH, "AuthenticatorClient")
    put_uint(out, pdu.login_mode, 1, "LoginMode")
    put_uint(out, pdu.timestamp, 4, "TimeStamp")
    put_uint(out, pdu.client_version, 1, "ClientVersion")


def _decode_login(sequence: int, body: BodyReader) -> Login:
    return Login(
        sequence,
        client_id=body.text(8, "ClientID"),
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
    put_text(out, pdu.service_id, 10, "ServiceID")
    put_text(out, pdu.fee_type, 2, "FeeType")
    put_text(out, pdu.fee_code, 6, "FeeCode")
    put_text(out, pdu.fixed_fee, 6, "FixedFee")
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
    service_id = body.text(10, "ServiceID")
    fee_type = body.text(2, "FeeType")
    fee_code = body.text(6, "FeeCode")
    fixed_fee = body.text(6, "FixedFee")
    msg_format = body.uint(1, "MsgFormat")
    valid_time = body.text(17, "ValidTime")
    at_time = body.text(17, "AtTime")
    src_term_id = body.text(TERM_ID_WIDTH, "SrcTermID")
    charge_term_id = body.text(TERM_ID_WIDTH, "ChargeTermID")
    dest_count = body.uint(1, "DestTermIDCount")
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
