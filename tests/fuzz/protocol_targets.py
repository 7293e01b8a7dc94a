"""Fuzz targets for the four protocol codecs: whole-frame decoding, the stream readers, round trips.

For each protocol, one input is read three ways: as one whole frame; as that frame with its length
field set to the input's size (so that mutated bodies get past the length check and reach the field
readers); and as a byte stream cut into two reads, through the codec's `PduReader`. The promise:
malformed bytes raise the codec's decode error (a `ProtocolError`), never anything else; a frame that
decodes re-encodes to bytes that decode to an equal PDU; and the readers a link applies to a decoded
deliver (status reports, receipts, the concatenation header, text) raise nothing but ProtocolError.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from smsplatform.protocols.cmpp import codec as cmpp_codec
from smsplatform.protocols.cmpp import pdu as cmpp
from smsplatform.protocols.cmpp.errors import PduDecodeError as CmppDecodeError
from smsplatform.protocols.cmpp.msgid import format_msg_id as format_cmpp_msg_id
from smsplatform.protocols.cmpp.report import read_report as read_cmpp_report
from smsplatform.protocols.cmpp.report import report_content as cmpp_report_content
from smsplatform.protocols.concat import build_concat_udh, parse_concat
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.sgip import codec as sgip_codec
from smsplatform.protocols.sgip import pdu as sgip
from smsplatform.protocols.sgip import responses as sgip_responses
from smsplatform.protocols.sgip.coding import text_encoding_for as sgip_text_encoding
from smsplatform.protocols.sgip.errors import PduDecodeError as SgipDecodeError
from smsplatform.protocols.smgp import codec as smgp_codec
from smsplatform.protocols.smgp import pdu as smgp
from smsplatform.protocols.smgp import responses as smgp_responses
from smsplatform.protocols.smgp.errors import PduDecodeError as SmgpDecodeError
from smsplatform.protocols.smgp.msgid import format_msg_id as format_smgp_msg_id
from smsplatform.protocols.smgp.report import StatusReport as SmgpReport
from smsplatform.protocols.smgp.report import build_report as build_smgp_report
from smsplatform.protocols.smgp.report import parse_report as parse_smgp_report
from smsplatform.protocols.smgp.report import report_fields as smgp_report_fields
from smsplatform.protocols.smgp.tlv import Tlv as SmgpTlv
from smsplatform.protocols.smgp.tlv import TlvTag as SmgpTlvTag
from smsplatform.protocols.smpp import codec as smpp_codec
from smsplatform.protocols.smpp import pdu as smpp
from smsplatform.protocols.smpp import responses as smpp_responses
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.layout import LAYOUTS as SMPP_LAYOUTS
from smsplatform.protocols.smpp.reassembly import Reassembler as SmppReassembler
from smsplatform.protocols.smpp.receipt import parse_receipt, receipt_from_pdu, receipt_id_forms, receipt_text
from smsplatform.protocols.smpp.tlv import Tlv as SmppTlv
from smsplatform.protocols.smpp.tlv import TlvTag as SmppTlvTag
from smsplatform.protocols.text import TextEncoding, decode_text
from tests.fuzz.harness import PropertyViolation, Target

# A stream input yields at most this many PDUs: enough to reach the reader's compaction, cheap per input.
_MAX_STREAM_PDUS = 64

UCS2_TEXT = "【进制数据】您的验证码是123456，5分钟内有效".encode("utf-16-be")
SOURCE, DESTINATION = "1069000101", "13800138000"


def _frames(data: bytes) -> Iterator[bytes]:
    """The input as a frame, and (when it differs) with its 4-octet length field made to fit."""
    yield data
    if len(data) >= 4:
        fitted = len(data).to_bytes(4, "big") + data[4:]
        if fitted != data:
            yield fitted


def _split(data: bytes) -> tuple[bytes, bytes]:
    """Two reads of one stream, cut where the last octet says, so that cut headers get exercised."""
    if not data:
        return b"", b""
    cut = data[-1] % (len(data) + 1)
    return data[:cut], data[cut:]


def _round_trip(pdu: Any, encode: Callable[[Any], bytes], decode: Callable[[bytes], Any]) -> None:
    try:
        frame = encode(pdu)
    except ValueError as exc:
        raise PropertyViolation(f"{pdu!r} decoded but does not encode again: {exc}") from exc
    again = decode(frame)
    if again != pdu:
        raise PropertyViolation(f"round trip changed the PDU:\n  {pdu!r}\n  {again!r}")


def _read_stream(data: bytes, reader: Any, frame_consumed: Callable[[ProtocolError], bool]) -> Iterator[Any]:
    """The PDUs a reader cuts from the input; decode errors of one frame are passed over, as a link does."""
    for chunk in _split(data):
        reader.receive_data(chunk)
        for _ in range(_MAX_STREAM_PDUS):
            try:
                pdu = reader.next_pdu()
            except ProtocolError as error:
                if frame_consumed(error):
                    continue  # the link answers that frame and reads on
                return  # framing lost: the link closes
            if pdu is None:
                break
            yield pdu


def _is_a(error_type: type[ProtocolError]) -> Callable[[ProtocolError], bool]:
    return lambda error: isinstance(error, error_type)


# --- SMPP 3.4 -----------------------------------------------------------------------------------


def check_smpp(data: bytes) -> None:
    for frame in _frames(data):
        try:
            pdu = smpp_codec.decode(frame)
        except SmppDecodeError as error:
            smpp_responses.error_response(error)
            continue
        _check_smpp_pdu(pdu)
    reader = smpp_codec.PduReader()
    # One error type for both cases: a command_id says the frame was whole and has been consumed.
    for pdu in _read_stream(data, reader, lambda error: getattr(error, "command_id", None) is not None):
        _check_smpp_pdu(pdu)


def _check_smpp_pdu(pdu: smpp.Pdu) -> None:
    _round_trip(pdu, smpp_codec.encode, smpp_codec.decode)
    if isinstance(pdu, smpp.DeliverSm | smpp.DataSm):
        try:
            receipt = receipt_from_pdu(pdu)
        except ProtocolError:
            receipt = None
        if receipt is not None:
            receipt_id_forms(receipt.id)
        with contextlib.suppress(ProtocolError):
            parse_receipt(pdu.user_data.decode("latin-1"))
        try:
            message = SmppReassembler().feed(pdu, 0.0)
        except ProtocolError:
            return
        if message is not None:
            with contextlib.suppress(ProtocolError):  # a data_coding that carries no text
                message.text(errors="replace")


def smpp_seeds() -> list[bytes]:
    receipt = receipt_text(
        "0A1B2C3D", "DELIVRD", "001", "001", "2601021530", "2601021531", "000", "验证码".encode().hex()
    ).encode("latin-1")
    pdus: list[smpp.Pdu] = [
        smpp.BindTransceiver(sequence=1, system_id="901234", password="password", system_type="SMS"),
        smpp.BindTransceiverResp(sequence=1, system_id="SMSC", tlvs=(SmppTlv(0x0210, b"\x34"),)),
        smpp.BindTransceiverResp(sequence=1, command_status=0x0E),
        smpp.SubmitSm(
            sequence=2,
            source_addr=SOURCE,
            destination_addr=DESTINATION,
            esm_class=0x40,
            registered_delivery=1,
            data_coding=8,
            short_message=build_concat_udh(0xA7, 2, 1) + UCS2_TEXT[:60],
        ),
        smpp.SubmitSmResp(sequence=2, message_id="0A1B2C3D"),
        smpp.SubmitSmResp(sequence=3, command_status=0x58),
        smpp.DeliverSm(
            sequence=4,
            source_addr=DESTINATION,
            destination_addr=SOURCE,
            esm_class=smpp.ESM_CLASS_DELIVERY_RECEIPT,
            short_message=receipt,
            tlvs=(
                SmppTlv.cstring(SmppTlvTag.RECEIPTED_MESSAGE_ID, "0A1B2C3D"),
                SmppTlv.uint(SmppTlvTag.MESSAGE_STATE, 2, 1),
            ),
        ),
        smpp.DeliverSm(sequence=5, source_addr=DESTINATION, destination_addr=SOURCE, short_message=b"TD"),
        smpp.DataSm(
            sequence=6,
            source_addr=DESTINATION,
            destination_addr=SOURCE,
            data_coding=8,
            tlvs=(
                SmppTlv(SmppTlvTag.MESSAGE_PAYLOAD, UCS2_TEXT),
                SmppTlv.uint(SmppTlvTag.SAR_MSG_REF_NUM, 7, 2),
                SmppTlv.uint(SmppTlvTag.SAR_TOTAL_SEGMENTS, 1, 1),
                SmppTlv.uint(SmppTlvTag.SAR_SEGMENT_SEQNUM, 1, 1),
            ),
        ),
        smpp.DeliverSmResp(sequence=5),
        smpp.Outbind(sequence=7, system_id="901234", password="password"),
        smpp.GenericNack(sequence=8, command_status=3),
    ]
    pdus += [layout.pdu_class(sequence=9) for layout in SMPP_LAYOUTS.values()]
    frames = [smpp_codec.encode(pdu) for pdu in pdus]
    return [*frames, b"".join(frames[:6])]


def smpp_large() -> list[bytes]:
    """Receipts whose text (a message_payload may hold 64 KiB) is built to make the receipt parser work."""
    room = 0xFFFF - 64
    patterns = (b"id:", b"a ", b"a \t", b"id:1 stat:", b"submit date", b"Text:", b"a" * 1000 + b" ", b" ")
    frames = []
    for pattern in patterns:
        text = (pattern * (room // len(pattern)))[:room]
        for esm_class in (smpp.ESM_CLASS_DELIVERY_RECEIPT, 0):
            pdu = smpp.DataSm(
                sequence=1,
                source_addr=DESTINATION,
                destination_addr=SOURCE,
                esm_class=esm_class,
                tlvs=(SmppTlv(SmppTlvTag.MESSAGE_PAYLOAD, text),),
            )
            frames.append(smpp_codec.encode(pdu))
    return frames


SMPP = Target(
    "smpp", check_smpp, smpp_seeds, "SMPP 3.4 decode, PduReader, round trip, receipts, UDH", smpp_large
)


# --- CMPP 2.0 / 3.0 -----------------------------------------------------------------------------


def check_cmpp(data: bytes) -> None:
    for version in cmpp.CmppVersion:
        for frame in _frames(data):
            try:
                pdu = cmpp_codec.decode(frame, version)
            except ProtocolError:
                continue
            _check_cmpp_pdu(pdu, version)
        reader = cmpp_codec.PduReader(version)
        for pdu in _read_stream(data, reader, _is_a(CmppDecodeError)):
            _check_cmpp_pdu(pdu, version)


def _check_cmpp_pdu(pdu: cmpp.Pdu, version: cmpp.CmppVersion) -> None:
    _round_trip(pdu, lambda p: _encode_cmpp_as_decoded(p, version), lambda f: cmpp_codec.decode(f, version))
    if isinstance(pdu, cmpp.Deliver):
        if pdu.registered_delivery:
            try:
                msg_id, *_ = read_cmpp_report(pdu.msg_content)
                format_cmpp_msg_id(msg_id)
            except ProtocolError:
                pass
        _read_mo_text(pdu.msg_content, pdu.tp_udhi, TextEncoding.UCS2)
    if isinstance(pdu, cmpp.SubmitResp | cmpp.DeliverResp):
        format_cmpp_msg_id(pdu.msg_id)


def _encode_cmpp_as_decoded(pdu: cmpp.Pdu, version: cmpp.CmppVersion) -> bytes:
    """Encodes in the layout the PDU came in: fixed-size bodies pick theirs by size, whatever the version.

    A CMPP 3.0 link may receive a 2.0-sized CONNECT_RESP (and the other way round); it then holds a
    PDU whose fields only the other layout carries, and re-encoding it in that layout is the round trip.
    """
    try:
        return cmpp_codec.encode(pdu, version)
    except ValueError:
        other = cmpp.CmppVersion.V20 if version is cmpp.CmppVersion.V30 else cmpp.CmppVersion.V30
        return cmpp_codec.encode(pdu, other)


def cmpp_seeds() -> list[bytes]:
    msg_id = bytes.fromhex("b4c5530000010000")
    frames: list[bytes] = []
    for version in cmpp.CmppVersion:
        report = cmpp_report_content(msg_id, "DELIVRD", "2601021530", "2601021531", DESTINATION, 7, version)
        pdus: list[cmpp.Pdu] = [
            cmpp.Connect(
                sequence=1,
                source_addr="901234",
                authenticator_source=bytes(range(16)),
                version=version,
                timestamp=102153000,
            ),
            cmpp.ConnectResp(sequence=1, status=0, authenticator_ismg=bytes(range(16)), version=version),
            cmpp.Submit(
                sequence=2,
                registered_delivery=1,
                tp_udhi=1,
                msg_fmt=cmpp.MsgFmt.UCS2,
                msg_src="901234",
                src_id=SOURCE,
                dest_terminal_ids=(DESTINATION, "13900139000"),
                msg_content=build_concat_udh(0xA7, 2, 1) + UCS2_TEXT[:60],
            ),
            cmpp.SubmitResp(sequence=2, msg_id=msg_id, result=0),
            cmpp.Deliver(
                sequence=3,
                msg_id=msg_id,
                dest_id=SOURCE,
                src_terminal_id=DESTINATION,
                registered_delivery=1,
                msg_content=report,
            ),
            cmpp.Deliver(
                sequence=4, msg_id=msg_id, dest_id=SOURCE, src_terminal_id=DESTINATION, msg_content=b"TD"
            ),
            cmpp.DeliverResp(sequence=3, msg_id=msg_id, result=0),
            cmpp.Query(sequence=5, time="20260102", query_type=1, query_code="code"),
            cmpp.Cancel(sequence=6, msg_id=msg_id),
            cmpp.CancelResp(sequence=6, success_id=1),
            cmpp.ActiveTest(sequence=7),
            cmpp.ActiveTestResp(sequence=7),
            cmpp.Terminate(sequence=8),
            cmpp.TerminateResp(sequence=8),
        ]
        frames += [cmpp_codec.encode(pdu, version) for pdu in pdus]
    return [*frames, b"".join(frames[:5])]


CMPP = Target("cmpp", check_cmpp, cmpp_seeds, "CMPP 2.0 and 3.0 decode, PduReader, round trip, reports")


# --- SGIP 1.2 -----------------------------------------------------------------------------------


def check_sgip(data: bytes) -> None:
    for frame in _frames(data):
        try:
            pdu = sgip_codec.decode(frame)
        except SgipDecodeError as error:
            sgip_responses.error_response(error)
            continue
        except ProtocolError:
            continue
        _check_sgip_pdu(pdu)
    for pdu in _read_stream(data, sgip_codec.PduReader(), _is_a(SgipDecodeError)):
        _check_sgip_pdu(pdu)


def _check_sgip_pdu(pdu: sgip.Pdu) -> None:
    _round_trip(pdu, sgip_codec.encode, sgip_codec.decode)
    if isinstance(pdu, sgip.Deliver):
        encoding = sgip_text_encoding(pdu.message_coding) or TextEncoding.LATIN1
        _read_mo_text(pdu.message_content, pdu.tp_udhi, encoding)


def sgip_seeds() -> list[bytes]:
    sequence = sgip.SgipSequence(3_053_112_345, 1_021_153_000, 7)
    pdus: list[sgip.Pdu] = [
        sgip.Bind(sequence=sequence, login_type=1, login_name="901234", login_password="password"),
        sgip.BindResp(sequence=sequence, result=0),
        sgip.Submit(
            sequence=sequence,
            sp_number=SOURCE,
            user_numbers=("8613800138000", "8613900139000"),
            corp_id="90123",
            service_type="code",
            tp_udhi=1,
            message_coding=8,
            message_content=build_concat_udh(0xA7, 2, 1) + UCS2_TEXT[:60],
        ),
        sgip.SubmitResp(sequence=sequence, result=0),
        sgip.Deliver(
            sequence=sequence,
            user_number="8613800138000",
            sp_number=SOURCE,
            message_coding=8,
            tp_udhi=1,
            message_content=build_concat_udh(0x12, 2, 2) + "退订".encode("utf-16-be"),
        ),
        sgip.DeliverResp(sequence=sequence, result=0),
        sgip.Report(sequence=sequence, submit_sequence=sequence, user_number="8613800138000", state=0),
        sgip.ReportResp(sequence=sequence, result=0),
        sgip.UserRpt(sequence=sequence, sp_number=SOURCE, user_number="8613800138000", user_condition=1),
        sgip.UserRptResp(sequence=sequence, result=0),
        sgip.Unbind(sequence=sequence),
        sgip.UnbindResp(sequence=sequence),
    ]
    frames = [sgip_codec.encode(pdu) for pdu in pdus]
    return [*frames, b"".join(frames[:5])]


SGIP = Target("sgip", check_sgip, sgip_seeds, "SGIP 1.2 decode, PduReader, round trip, MO text")


# --- SMGP 3.0 -----------------------------------------------------------------------------------


def check_smgp(data: bytes) -> None:
    for frame in _frames(data):
        try:
            pdu = smgp_codec.decode(frame)
        except SmgpDecodeError as error:
            smgp_responses.error_response(error)
            continue
        except ProtocolError:
            continue
        _check_smgp_pdu(pdu)
    for pdu in _read_stream(data, smgp_codec.PduReader(), _is_a(SmgpDecodeError)):
        _check_smgp_pdu(pdu)
    # A report is read from a deliver's content (at most 255 octets); reading the input as one reaches
    # the parser sooner.
    _check_smgp_report(data[: smgp_codec.MAX_MSG_LENGTH])


def _check_smgp_pdu(pdu: smgp.Pdu) -> None:
    _round_trip(pdu, smgp_codec.encode, smgp_codec.decode)
    if isinstance(pdu, smgp.Deliver):
        if pdu.is_report == 1:
            _check_smgp_report(pdu.msg_content)
        else:
            _read_mo_text(pdu.msg_content, int(pdu.udhi), TextEncoding.UCS2)
    if isinstance(pdu, smgp.SubmitResp | smgp.DeliverResp):
        format_smgp_msg_id(pdu.msg_id)


def _check_smgp_report(content: bytes) -> None:
    try:
        msg_id, *_ = smgp_report_fields(content)
    except ProtocolError:
        return
    format_smgp_msg_id(msg_id)
    with contextlib.suppress(ProtocolError):
        parse_smgp_report(content)


def smgp_seeds() -> list[bytes]:
    msg_id = bytes.fromhex("01006101161700012345")
    report = build_smgp_report(
        SmgpReport(
            msg_id=msg_id, stat="DELIVRD", submit_date="2601021530", done_date="2601021531", text=b"005TD"
        )
    )
    texts = [
        report,
        report.replace(b"id:" + msg_id, b"id:" + msg_id.hex().encode()),
        b"id:" + msg_id.hex().encode() + b" Sub:001 Dlvrd:001 Submit_date:2601021530 done_date:2601021531"
        b" Stat:UNDELIV Err:005 txt:",
    ]
    pdus: list[smgp.Pdu] = [
        smgp.Login(1, client_id="90123456", authenticator_client=bytes(range(16)), timestamp=102153000),
        smgp.LoginResp(1, status=0, authenticator_server=bytes(range(16))),
        smgp.Submit(
            2,
            service_id="code",
            msg_format=smgp.MsgFormat.UCS2,
            src_term_id=SOURCE,
            dest_term_ids=(DESTINATION, "13900139000"),
            msg_content=build_concat_udh(0xA7, 2, 1) + UCS2_TEXT[:60],
            tlvs=(SmgpTlv.uint8(SmgpTlvTag.TP_UDHI, 1), SmgpTlv.uint8(SmgpTlvTag.PK_TOTAL, 2)),
        ),
        smgp.SubmitResp(2, msg_id=msg_id, status=0),
        *(
            smgp.Deliver(
                3,
                msg_id=msg_id,
                is_report=1,
                recv_time="20260102153100",
                src_term_id=DESTINATION,
                msg_content=text,
            )
            for text in texts
        ),
        smgp.Deliver(4, msg_id=msg_id, src_term_id=DESTINATION, dest_term_id=SOURCE, msg_content=b"TD"),
        smgp.DeliverResp(3, msg_id=msg_id, status=0),
        smgp.ActiveTest(5),
        smgp.ActiveTestResp(5),
        smgp.Exit(6),
        smgp.ExitResp(6),
    ]
    frames = [smgp_codec.encode(pdu) for pdu in pdus]
    return [*frames, *texts, b"".join(frames[:5])]


SMGP = Target("smgp", check_smgp, smgp_seeds, "SMGP 3.0 decode, PduReader, round trip, status reports")


# --- shared ---------------------------------------------------------------------------------------


def _read_mo_text(content: bytes, udhi: int, encoding: TextEncoding) -> None:
    """What a link does with a mobile-originated message's content: header off, text decoded."""
    if udhi & 1:
        try:
            _, content = parse_concat(content)
        except ProtocolError:
            return
    decode_text(content, encoding, "replace")


PROTOCOL_TARGETS = (SMPP, CMPP, SGIP, SMGP)
