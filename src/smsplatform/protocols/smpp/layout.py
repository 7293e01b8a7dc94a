"""The mandatory body fields of each PDU, in wire order, as data the codec walks.

Sizes are the spec's maxima; for C-Octet Strings they include the NUL terminator. Each field also
names the command_status to answer with when a peer sends it malformed (spec Table 5-2).
"""

from dataclasses import dataclass
from enum import Enum

from smsplatform.protocols.smpp.pdu import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from smsplatform.protocols.smpp.status import CommandStatus as S


class Kind(Enum):
    CSTRING = "C-Octet String"
    UINT8 = "1-octet integer"
    SHORT_MESSAGE = "sm_length + short_message"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    max_octets: int = 1
    status: int = S.ESME_RINVCMDLEN


def _c(name: str, max_octets: int, status: int = S.ESME_RINVCMDLEN) -> Field:
    return Field(name, Kind.CSTRING, max_octets, status)


def _u8(name: str) -> Field:
    return Field(name, Kind.UINT8)


@dataclass(frozen=True, slots=True)
class Layout:
    """How one command's body is laid out.

    `tlvs`: an optional-parameter section follows the mandatory fields. Without one, octets after
    the mandatory fields are ignored, since they cannot change what the PDU means.
    `body_optional`: an empty body is accepted and gives the defaults; responses carrying an
    error status leave their body out (spec notes to Tables 4-2 and 4-11).
    """

    pdu_class: type[Pdu]
    fields: tuple[Field, ...]
    tlvs: bool
    body_optional: bool


_BIND = (
    _c("system_id", 16, S.ESME_RINVSYSID),
    _c("password", 9, S.ESME_RINVPASWD),
    _c("system_type", 13, S.ESME_RINVSYSTYP),
    _u8("interface_version"),
    _u8("addr_ton"),
    _u8("addr_npi"),
    _c("address_range", 41, S.ESME_RBINDFAIL),
)
_BIND_RESP = (_c("system_id", 16, S.ESME_RINVSYSID),)
_OUTBIND = (_c("system_id", 16, S.ESME_RINVSYSID), _c("password", 9, S.ESME_RINVPASWD))
_SHORT_MESSAGE = (
    _c("service_type", 6, S.ESME_RINVSERTYP),
    _u8("source_addr_ton"),
    _u8("source_addr_npi"),
    _c("source_addr", 21, S.ESME_RINVSRCADR),
    _u8("dest_addr_ton"),
    _u8("dest_addr_npi"),
    _c("destination_addr", 21, S.ESME_RINVDSTADR),
    _u8("esm_class"),
    _u8("protocol_id"),
    _u8("priority_flag"),
    _c("schedule_delivery_time", 17, S.ESME_RINVSCHED),
    _c("validity_period", 17, S.ESME_RINVEXPIRY),
    _u8("registered_delivery"),
    _u8("replace_if_present_flag"),
    _u8("data_coding"),
    _u8("sm_default_msg_id"),
    Field("short_message", Kind.SHORT_MESSAGE, 255, S.ESME_RINVMSGLEN),
)
_DATA_SM = (
    _c("service_type", 6, S.ESME_RINVSERTYP),
    _u8("source_addr_ton"),
    _u8("source_addr_npi"),
    _c("source_addr", 65, S.ESME_RINVSRCADR),
    _u8("dest_addr_ton"),
    _u8("dest_addr_npi"),
    _c("destination_addr", 65, S.ESME_RINVDSTADR),
    _u8("esm_class"),
    _u8("registered_delivery"),
    _u8("data_coding"),
)
_MESSAGE_RESP = (_c("message_id", 65, S.ESME_RINVMSGID),)

LAYOUTS: dict[int, Layout] = {
    CommandId.BIND_TRANSMITTER: Layout(BindTransmitter, _BIND, tlvs=True, body_optional=False),
    CommandId.BIND_RECEIVER: Layout(BindReceiver, _BIND, tlvs=True, body_optional=False),
    CommandId.BIND_TRANSCEIVER: Layout(BindTransceiver, _BIND, tlvs=True, body_optional=False),
    CommandId.BIND_TRANSMITTER_RESP: Layout(BindTransmitterResp, _BIND_RESP, tlvs=True, body_optional=True),
    CommandId.BIND_RECEIVER_RESP: Layout(BindReceiverResp, _BIND_RESP, tlvs=True, body_optional=True),
    CommandId.BIND_TRANSCEIVER_RESP: Layout(BindTransceiverResp, _BIND_RESP, tlvs=True, body_optional=True),
    CommandId.OUTBIND: Layout(Outbind, _OUTBIND, tlvs=False, body_optional=False),
    CommandId.UNBIND: Layout(Unbind, (), tlvs=False, body_optional=True),
    CommandId.UNBIND_RESP: Layout(UnbindResp, (), tlvs=False, body_optional=True),
    CommandId.ENQUIRE_LINK: Layout(EnquireLink, (), tlvs=False, body_optional=True),
    CommandId.ENQUIRE_LINK_RESP: Layout(EnquireLinkResp, (), tlvs=False, body_optional=True),
    CommandId.GENERIC_NACK: Layout(GenericNack, (), tlvs=False, body_optional=True),
    CommandId.SUBMIT_SM: Layout(SubmitSm, _SHORT_MESSAGE, tlvs=True, body_optional=False),
    CommandId.SUBMIT_SM_RESP: Layout(SubmitSmResp, _MESSAGE_RESP, tlvs=True, body_optional=True),
    CommandId.DELIVER_SM: Layout(DeliverSm, _SHORT_MESSAGE, tlvs=True, body_optional=False),
    CommandId.DELIVER_SM_RESP: Layout(DeliverSmResp, _MESSAGE_RESP, tlvs=True, body_optional=True),
    CommandId.DATA_SM: Layout(DataSm, _DATA_SM, tlvs=True, body_optional=False),
    CommandId.DATA_SM_RESP: Layout(DataSmResp, _MESSAGE_RESP, tlvs=True, body_optional=True),
}
