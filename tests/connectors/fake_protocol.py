"""A toy length-prefixed protocol with a connector adapter and an SMSC dialect.

It exercises the link engine and the simulator core without any real protocol. A frame is
length(4) command(1) sequence(4) status(4) body; bodies are NUL-separated fields.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from smsplatform.connectors.adapter import (
    AckStatus,
    BindAcceptance,
    BindResult,
    Delivery,
    PduKind,
    ProtocolAdapter,
    SegmentAnswer,
    SessionRole,
)
from smsplatform.connectors.config import ConnectorConfig
from smsplatform.connectors.model import DeliveryReport, InboundSms, OutboundSms
from smsplatform.protocols.concat import parse_concat, split_for_sms
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import Framing, LinkEnd
from smsplatform.protocols.reassembly import Reassembler
from smsplatform.protocols.text import TextEncoding, decode_text
from smsplatform.simulator.dialect import (
    BindRequest,
    BindStatus,
    MoPart,
    Outgoing,
    Receipt,
    SmscDialect,
    SubmitRequest,
    SubmitStatus,
)

HEADER = struct.Struct(">IBII")
BIND, SUBMIT, DELIVER, LINK, UNBIND = 1, 2, 3, 4, 5
RESPONSE = 0x80
NACK = 0x80
THROTTLED, BAD_LOGIN, REFUSED, RETRY, INVALID = 0x58, 0x0E, 0x45, 0x64, 0x01
KNOWN = {BIND, SUBMIT, DELIVER, LINK, UNBIND} | {c | RESPONSE for c in (BIND, SUBMIT, DELIVER, LINK, UNBIND)}
KNOWN.add(NACK)


class FakeError(ProtocolError):
    def __init__(self, message: str, sequence: int | None = None) -> None:
        super().__init__(message)
        self.sequence = sequence


@dataclass(slots=True)
class Frame:
    command: int
    sequence: int
    status: int = 0
    body: bytes = b""


def encode(frame: Frame) -> bytes:
    return (
        HEADER.pack(HEADER.size + len(frame.body), frame.command, frame.sequence, frame.status) + frame.body
    )


def fields(frame: Frame, count: int) -> list[bytes]:
    parts = frame.body.split(b"\0", count - 1)
    if len(parts) != count:
        raise FakeError("missing fields", frame.sequence)
    return parts


class Reader:
    def __init__(self) -> None:
        self._buffer = bytearray()

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_pdu(self) -> Frame | None:
        buffer = self._buffer
        if len(buffer) < 4:
            return None
        length = int.from_bytes(buffer[:4], "big")
        if length < HEADER.size or length > 65536:
            raise FakeError(f"bad length {length}")
        if len(buffer) < length:
            return None
        _, command, sequence, status = HEADER.unpack_from(buffer)
        body = bytes(buffer[HEADER.size : length])
        del buffer[:length]
        if command not in KNOWN:
            raise FakeError(f"unknown command {command}", sequence)
        return Frame(command, sequence, status, body)


class FakeFraming(Framing[Frame]):
    """The toy protocol's framing, shared by its adapter and its dialect."""

    protocol: ClassVar[str] = "fake"
    requests: ClassVar[Mapping[int, PduKind]] = {
        BIND: PduKind.BIND,
        SUBMIT: PduKind.SUBMIT,
        DELIVER: PduKind.DELIVER,
        LINK: PduKind.LINK_TEST,
        UNBIND: PduKind.UNBIND,
    }

    def new_reader(self) -> Reader:
        return Reader()

    def encode(self, pdu: Frame) -> bytes:
        return encode(pdu)

    def classify(self, pdu: Frame) -> PduKind:
        if pdu.command & RESPONSE:
            return PduKind.RESPONSE
        return self._kinds.get(pdu.command, PduKind.OTHER)

    def key(self, pdu: Frame) -> Hashable:
        return pdu.sequence

    def error_response(self, error: ProtocolError) -> Frame | None:
        return Frame(NACK, getattr(error, "sequence", 0) or 0, INVALID)


ROLE_NAMES = {SessionRole.TRANSCEIVER: b"trx", SessionRole.TRANSMITTER: b"tx", SessionRole.RECEIVER: b"rx"}


class FakeAdapter(ProtocolAdapter[Frame]):
    protocol: ClassVar[str] = "fake"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.framing = FakeFraming(LinkEnd.ESME)
        self._ref = 0
        self._parts: Reassembler[bytes] = Reassembler()
        self.listen: tuple[str, int] | None = None
        self.accept_login: tuple[str, str] = ("smsc", "secret")
        self.roles: tuple[SessionRole, ...] | None = None

    def session_roles(self) -> tuple[SessionRole, ...]:
        return self.roles or super().session_roles()

    def listen_address(self) -> tuple[str, int] | None:
        return self.listen

    def reject(self, pdu: Frame) -> Frame | None:
        return Frame(NACK, pdu.sequence, REFUSED)

    def bind_request(self, role: SessionRole, sequence: int) -> Frame:
        body = b"\0".join([self.config.system_id.encode(), self.config.password.encode(), ROLE_NAMES[role]])
        return Frame(BIND, sequence, 0, body)

    def bind_result(self, pdu: Frame) -> BindResult:
        return BindResult(pdu.status == 0, "" if pdu.status == 0 else f"0x{pdu.status:08X}")

    def accept_bind(self, pdu: Frame) -> BindAcceptance[Frame] | None:
        system_id, password, _ = fields(pdu, 3)
        if (system_id.decode(), password.decode()) != self.accept_login:
            return BindAcceptance(Frame(BIND | RESPONSE, pdu.sequence, BAD_LOGIN), None)
        return BindAcceptance(Frame(BIND | RESPONSE, pdu.sequence), SessionRole.RECEIVER)

    def link_test(self, sequence: int) -> Frame:
        return Frame(LINK, sequence)

    def link_test_response(self, pdu: Frame) -> Frame:
        return Frame(LINK | RESPONSE, pdu.sequence)

    def unbind(self, sequence: int) -> Frame:
        return Frame(UNBIND, sequence)

    def unbind_response(self, pdu: Frame) -> Frame:
        return Frame(UNBIND | RESPONSE, pdu.sequence)

    def build_submits(self, sms: OutboundSms, next_sequence: Callable[[], int]) -> list[Frame]:
        self._ref = (self._ref + 1) % 256
        payloads = split_for_sms(sms.text, TextEncoding.UCS2, self._ref)
        udhi = b"1" if len(payloads) > 1 else b"0"
        receipt = b"1" if sms.want_receipt else b"0"
        head = b"\0".join([sms.source.encode(), sms.destination.encode(), receipt, udhi]) + b"\0"
        return [Frame(SUBMIT, next_sequence(), 0, head + payload) for payload in payloads]

    def read_submit_response(self, pdu: Frame) -> SegmentAnswer:
        if pdu.status == 0:
            return SegmentAnswer(True, pdu.body.decode())
        return SegmentAnswer(False, "", pdu.status == THROTTLED, f"0x{pdu.status:08X}")

    def read_deliver(self, pdu: Frame) -> Delivery:
        kind, rest = pdu.body[:1], Frame(pdu.command, pdu.sequence, 0, pdu.body[1:])
        name = self.config.name
        if kind == b"R":
            remote_id, stat, err, handset = (f.decode() for f in fields(rest, 4))
            return Delivery(report=DeliveryReport(remote_id, stat, err, handset, "", "", name))
        if kind != b"M":
            raise FakeError("unknown deliver kind", pdu.sequence)
        source, destination, udhi, payload = fields(rest, 4)
        if udhi == b"1":
            info, body = parse_concat(payload)
            if info is not None:
                parts = self._parts.add((source, destination, info.ref), info.total, info.seq, body)
                if parts is None:
                    return Delivery()
                payload = b"".join(parts)
            else:
                payload = body
        text = decode_text(payload, TextEncoding.UCS2)
        return Delivery(inbound=InboundSms(source.decode(), destination.decode(), text, name))

    def deliver_response(self, pdu: Frame, status: AckStatus) -> Frame:
        code = {AckStatus.OK: 0, AckStatus.RETRY: RETRY, AckStatus.REJECT: REFUSED}[status]
        return Frame(DELIVER | RESPONSE, pdu.sequence, code)


class FakeDialect(SmscDialect[Frame]):
    protocol: ClassVar[str] = "fake"

    def __init__(self, *, id_format: str = "hex") -> None:
        super().__init__(id_format=id_format)
        self.framing = FakeFraming(LinkEnd.SMSC)

    def reject(self, pdu: Frame) -> Frame | None:
        return Frame(NACK, pdu.sequence, REFUSED)

    def read_bind(self, pdu: Frame) -> BindRequest:
        system_id, password, role = fields(pdu, 3)
        return BindRequest(system_id.decode(), password.decode(), role != b"rx", role != b"tx")

    def bind_response(self, pdu: Frame, status: BindStatus) -> Frame:
        return Frame(BIND | RESPONSE, pdu.sequence, {0: 0, 1: BAD_LOGIN, 2: 5}[status])

    def read_submit(self, pdu: Frame) -> SubmitRequest:
        source, destination, receipt, udhi, payload = fields(pdu, 5)
        concat = None
        if udhi == b"1":
            concat, payload = parse_concat(payload)
        return SubmitRequest(
            source.decode(), destination.decode(), payload, TextEncoding.UCS2, concat, receipt == b"1"
        )

    def submit_response(self, pdu: Frame, message_id: str, status: SubmitStatus) -> Frame:
        code = {0: 0, 1: THROTTLED, 2: 4, 3: INVALID}[status]
        return Frame(SUBMIT | RESPONSE, pdu.sequence, code, message_id.encode())

    def message_id(self, number: int) -> str:
        return f"{number:08X}" if self.id_format == "hex" else str(number)

    def mo_encoding(self, text: str) -> TextEncoding:
        return TextEncoding.UCS2

    def deliver(self, sequence: int, item: Outgoing) -> Frame:
        if isinstance(item, Receipt):
            body = b"R" + "\0".join([item.message_id, item.stat, item.err, item.destination]).encode()
        else:
            assert isinstance(item, MoPart)
            head = "\0".join([item.source, item.destination, "1" if item.udhi else "0"]).encode()
            body = b"M" + head + b"\0" + item.payload
        return Frame(DELIVER, sequence, 0, body)

    def deliver_accepted(self, pdu: Frame) -> bool:
        return pdu.status == 0

    def link_test(self, sequence: int) -> Frame:
        return Frame(LINK, sequence)

    def link_test_response(self, pdu: Frame) -> Frame:
        return Frame(LINK | RESPONSE, pdu.sequence)

    def unbind_response(self, pdu: Frame) -> Frame:
        return Frame(UNBIND | RESPONSE, pdu.sequence)

    def bind_request(self, sequence: int, system_id: str, password: str) -> Frame:
        return Frame(BIND, sequence, 0, f"{system_id}\0{password}\0rx".encode())

    def bind_accepted(self, pdu: Frame) -> bool:
        return pdu.command == BIND | RESPONSE and pdu.status == 0
