"""SMPP 3.4 PDUs as plain values (spec chapter 4) and the code tables their fields draw from.

Integer fields are `int`, not enums, so a PDU using a value the spec calls reserved (or a vendor
status code) still decodes; the enums and constants name the values we send and compare against.
C-Octet String fields are `str` without their NUL; `short_message` and TLV values are raw `bytes`.
Every PDU is immutable: a link engine stamps its own sequence number with `dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, TypeAlias

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag, find_tlv, tlv_cstring, tlv_int

SMPP_VERSION_34 = 0x34

# esm_class (spec §5.2.12): bits 5-2 are the message type, bit 6 says user data starts with a UDH.
ESM_CLASS_UDHI = 0x40
ESM_CLASS_REPLY_PATH = 0x80
ESM_CLASS_MESSAGE_TYPE_MASK = 0x3C
ESM_CLASS_DELIVERY_RECEIPT = 0x04
ESM_CLASS_SME_DELIVERY_ACK = 0x08
ESM_CLASS_SME_MANUAL_ACK = 0x10
ESM_CLASS_INTERMEDIATE_NOTIFICATION = 0x20

# registered_delivery (spec §5.2.17), bits 1-0: which final outcomes earn an SMSC delivery receipt.
REGISTERED_DELIVERY_NONE = 0x00
REGISTERED_DELIVERY_ALWAYS = 0x01
REGISTERED_DELIVERY_ON_FAILURE = 0x02


class CommandId(IntEnum):
    """Command IDs of spec Table 5-1 for the PDUs this package speaks."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


RESPONSE_BIT = 0x80000000


def is_response_id(command_id: int) -> bool:
    """Responses carry bit 31 of the command id; a link answers requests only."""
    return bool(command_id & RESPONSE_BIT)


class MessageState(IntEnum):
    """Final states of spec §5.2.28, carried by the message_state TLV of a delivery receipt."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


class TypeOfNumber(IntEnum):
    """addr_ton values of spec §5.2.5."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class NumberingPlan(IntEnum):
    """addr_npi values of spec §5.2.6 (the ones SMS uses)."""

    UNKNOWN = 0
    ISDN = 1
    DATA = 3
    TELEX = 4
    LAND_MOBILE = 6
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14
    WAP_CLIENT_ID = 18


class _TlvAccessors:
    """Typed readers for the optional parameters the platform acts on.

    Each returns None when the TLV is absent and raises `ProtocolError` when its value is malformed.
    """

    __slots__ = ()
    tlvs: tuple[Tlv, ...]

    def tlv(self, tag: int) -> bytes | None:
        return find_tlv(self.tlvs, tag)

    @property
    def message_payload(self) -> bytes | None:
        return find_tlv(self.tlvs, TlvTag.MESSAGE_PAYLOAD)

    @property
    def sar_msg_ref_num(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.SAR_MSG_REF_NUM)

    @property
    def sar_total_segments(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.SAR_TOTAL_SEGMENTS)

    @property
    def sar_segment_seqnum(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.SAR_SEGMENT_SEQNUM)

    @property
    def receipted_message_id(self) -> str | None:
        return tlv_cstring(self.tlvs, TlvTag.RECEIPTED_MESSAGE_ID)

    @property
    def message_state(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.MESSAGE_STATE)

    @property
    def network_error_code(self) -> tuple[int, int] | None:
        """(network type: 1 ANSI-136, 2 IS-95, 3 GSM; network-specific error code)."""
        value = find_tlv(self.tlvs, TlvTag.NETWORK_ERROR_CODE)
        if value is None:
            return None
        if len(value) != 3:
            raise ProtocolError(f"network_error_code has {len(value)} octets, not 3")
        return value[0], int.from_bytes(value[1:3], "big")

    @property
    def user_message_reference(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.USER_MESSAGE_REFERENCE)

    @property
    def source_port(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.SOURCE_PORT)

    @property
    def destination_port(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.DESTINATION_PORT)

    @property
    def sc_interface_version(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.SC_INTERFACE_VERSION)

    @property
    def additional_status_info_text(self) -> str | None:
        return tlv_cstring(self.tlvs, TlvTag.ADDITIONAL_STATUS_INFO_TEXT)

    @property
    def delivery_failure_reason(self) -> int | None:
        return tlv_int(self.tlvs, TlvTag.DELIVERY_FAILURE_REASON)


class _UserData(_TlvAccessors):
    """What message-carrying PDUs share: the UDHI flag and wherever the user data was put."""

    __slots__ = ()
    esm_class: int

    @property
    def udhi(self) -> bool:
        return bool(self.esm_class & ESM_CLASS_UDHI)

    @property
    def message_type(self) -> int:
        """esm_class bits 5-2 in place, comparable with the ESM_CLASS_* type constants."""
        return self.esm_class & ESM_CLASS_MESSAGE_TYPE_MASK

    @property
    def user_data(self) -> bytes:
        """The message octets, from short_message or, when that is empty, from message_payload."""
        short_message: bytes = getattr(self, "short_message", b"")
        if short_message:
            return short_message
        return self.message_payload or b""


# --- session management ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BindRequest(_TlvAccessors):
    """The fields the three bind PDUs share (spec §4.1.1, §4.1.3, §4.1.5)."""

    command_id: ClassVar[CommandId]
    sequence: int
    command_status: int = 0
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    interface_version: int = SMPP_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""
    # Not in 3.4's bind PDUs, but kept so a later-version peer's extras are not an error.
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(BindRequest):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(BindRequest):
    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(BindRequest):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResponse(_TlvAccessors):
    """The SMSC's answer to a bind; on error the body (system_id) is usually left out."""

    command_id: ClassVar[CommandId]
    sequence: int
    command_status: int = 0
    system_id: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(BindResponse):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(BindResponse):
    command_id: ClassVar[CommandId] = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(BindResponse):
    command_id: ClassVar[CommandId] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind:
    """The SMSC asking an ESME to bind_receiver back to it (spec §4.1.7)."""

    command_id: ClassVar[CommandId] = CommandId.OUTBIND
    sequence: int
    command_status: int = 0
    system_id: str = ""
    password: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind:
    command_id: ClassVar[CommandId] = CommandId.UNBIND
    sequence: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp:
    command_id: ClassVar[CommandId] = CommandId.UNBIND_RESP
    sequence: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink:
    """The heartbeat; either side may send it at any time once bound."""

    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK
    sequence: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp:
    command_id: ClassVar[CommandId] = CommandId.ENQUIRE_LINK_RESP
    sequence: int
    command_status: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack:
    """The answer to a PDU whose header could not be understood (spec §4.3).

    `sequence` is the offending PDU's, or 0 when even that could not be read.
    """

    command_id: ClassVar[CommandId] = CommandId.GENERIC_NACK
    sequence: int
    command_status: int = 0


# --- messages -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortMessage(_UserData):
    """The body submit_sm and deliver_sm share (spec §4.4.1, §4.6.1).

    In a deliver_sm the scheduling, validity, replace and canned-message fields must be NULL.
    Long user data goes in the message_payload TLV with `short_message` left empty.
    """

    command_id: ClassVar[CommandId]
    sequence: int
    command_status: int = 0
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(ShortMessage):
    """A mobile-terminated message from the ESME."""

    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(ShortMessage):
    """A mobile-originated message or a delivery receipt from the SMSC."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(_UserData):
    """Either direction's alternative to submit_sm/deliver_sm; the user data is always a TLV."""

    command_id: ClassVar[CommandId] = CommandId.DATA_SM
    sequence: int
    command_status: int = 0
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageResponse(_TlvAccessors):
    """The answers to message PDUs: the SMSC's message id on success.

    SMPP 3.4 gives submit_sm_resp and deliver_sm_resp no TLVs and data_sm_resp some; all three
    keep any they receive (later versions add them everywhere).
    """

    command_id: ClassVar[CommandId]
    sequence: int
    command_status: int = 0
    message_id: str = ""
    tlvs: tuple[Tlv, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(MessageResponse):
    command_id: ClassVar[CommandId] = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(MessageResponse):
    """message_id is unused in deliver_sm_resp and normally left empty."""

    command_id: ClassVar[CommandId] = CommandId.DELIVER_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(MessageResponse):
    command_id: ClassVar[CommandId] = CommandId.DATA_SM_RESP


Pdu: TypeAlias = (
    BindTransmitter
    | BindReceiver
    | BindTransceiver
    | BindTransmitterResp
    | BindReceiverResp
    | BindTransceiverResp
    | Outbind
    | Unbind
    | UnbindResp
    | EnquireLink
    | EnquireLinkResp
    | GenericNack
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | DataSm
    | DataSmResp
)
