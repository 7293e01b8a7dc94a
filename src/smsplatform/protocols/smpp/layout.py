"""The mandatory body fields of each PDU, in wire order, as data the codec walks.

Sizes are the spec's maxima; for C-Octet Strings they include the NUL terminator. Each field also
names the command_status to answer with when a peer sends it malformed (spec Table 5-2). At import
the tables are also compiled into the Plans that the codec's fast path runs on (see "compiled form").
"""

import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from enum import Enum
from typing import Any

from smsplatform.protocols.fastpath import Getter, slot_builder, tuple_getter, tuple_picker
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

# sm_length is one octet, but the spec (§4.4.1) caps short_message at 254: more goes in message_payload.
MAX_SHORT_MESSAGE = 254


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


# --- compiled form ---------------------------------------------------------------------------
#
# Walking the fields one by one costs a few Python calls per field, and submit_sm and deliver_sm have
# seventeen. The codec's fast path instead works on a Plan compiled from each layout once, at import:
# the mandatory fields are written by one %-format and read by one regular expression, over the Latin-1
# text of the body (which maps every octet to one character and back), and the PDU is assembled without
# keyword arguments (a body that is one string, as responses are, is simply cut at its NUL). Whatever the
# fast path cannot vouch for, it hands to the field walk, which raises the precise error.

Builder = Callable[[tuple[Any, ...]], Pdu]


@dataclass(frozen=True, slots=True)
class Plan:
    """A layout compiled for the codec's fast path.

    ``get_fields`` reads the mandatory fields but short_message, in wire order; ``pick_strings`` and
    ``pick_ints`` take the C-Octet Strings and the integers out of those values, or out of the groups of
    ``pattern``, whose last group is sm_length when the layout has a short_message.
    """

    layout: Layout
    get_fields: Getter
    pick_strings: Getter
    pick_ints: Getter
    strings_pattern: re.Pattern[str]  # matches the C-Octet Strings joined by NUL when each fits
    format: str  # %-format of the mandatory fields but short_message, NUL terminators included
    pattern: re.Pattern[str]  # matches the Latin-1 text of a body's mandatory fields
    window: int  # octets the mandatory fields can span, sm_length included
    short_message: bool
    lone_cstring: int  # max_octets when the mandatory fields are one C-Octet String (responses), else 0
    defaults: tuple[Any, ...]  # values of the dataclass fields a body does not carry
    empty: tuple[Any, ...]  # what follows (sequence, command_status) for an empty body: all defaults
    build: Builder  # (sequence, command_status, *strings, *ints, [short_message], [tlvs], *defaults)


def compile_layout(layout: Layout) -> Plan:
    mandatory = layout.fields
    short_message = bool(mandatory) and mandatory[-1].kind is Kind.SHORT_MESSAGE
    fixed = mandatory[:-1] if short_message else mandatory
    if any(field.kind is Kind.SHORT_MESSAGE for field in fixed):
        raise TypeError(f"{layout.pdu_class.__name__}: short_message must be the last mandatory field")
    strings = [i for i, field in enumerate(fixed) if field.kind is Kind.CSTRING]
    ints = [i for i, field in enumerate(fixed) if field.kind is Kind.UINT8]
    string_names = [fixed[i].name for i in strings]
    int_names = [fixed[i].name for i in ints]
    groups = [_group(field) for field in mandatory]
    carried = ["sequence", "command_status", *string_names, *int_names]
    if short_message:
        carried.append(mandatory[-1].name)
    if layout.tlvs:
        carried.append("tlvs")
    missing = [f for f in fields(layout.pdu_class) if f.name not in carried]
    names = [*carried, *(f.name for f in missing)]
    default = {f.name: f.default for f in fields(layout.pdu_class)}
    lone = mandatory[0] if len(mandatory) == 1 else None
    if any(default[name] is MISSING for name in names[2:]):
        raise TypeError(f"{layout.pdu_class.__name__} has a field without a default")
    return Plan(
        layout=layout,
        get_fields=tuple_getter([field.name for field in fixed]),
        pick_strings=tuple_picker(strings),
        pick_ints=tuple_picker(ints),
        strings_pattern=re.compile("\0".join(f"[^\0]{{0,{fixed[i].max_octets - 1}}}" for i in strings)),
        format="".join("%s\0" if field.kind is Kind.CSTRING else "%c" for field in fixed),
        pattern=re.compile("".join(groups), re.DOTALL),
        window=sum(field.max_octets if field.kind is Kind.CSTRING else 1 for field in mandatory),
        short_message=short_message,
        lone_cstring=lone.max_octets if lone is not None and lone.kind is Kind.CSTRING else 0,
        defaults=tuple(f.default for f in missing),
        empty=tuple(default[name] for name in names[2:]),
        build=slot_builder(layout.pdu_class, names),
    )


def _group(field: Field) -> str:
    if field.kind is Kind.CSTRING:
        return f"([^\0]{{0,{field.max_octets - 1}}})\0"
    if field.kind is Kind.SHORT_MESSAGE:
        # sm_length is 0..254 (spec §4.4.1): a 255 fails the match, and the field walk says why.
        return f"([\0-{chr(MAX_SHORT_MESSAGE)}])"
    return "(.)"


PLANS: dict[int, Plan] = {command_id: compile_layout(layout) for command_id, layout in LAYOUTS.items()}
