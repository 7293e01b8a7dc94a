"""The widths of the fields an operator types in when setting a link up, per protocol.

Read from each codec's own layout or width constants, so that a check made before a connector is
saved refuses exactly what the codec would refuse at bind or submit time, instead of a link that
never binds ("cannot send the bind") or messages that fail one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from smsplatform.protocols.cmpp import layout as cmpp_layout
from smsplatform.protocols.cmpp.pdu import CmppVersion
from smsplatform.protocols.cmpp.pdu import CommandId as CmppCommand
from smsplatform.protocols.sgip import codec as sgip_codec
from smsplatform.protocols.smgp import auth as smgp_auth
from smsplatform.protocols.smgp import codec as smgp_codec
from smsplatform.protocols.smpp import layout as smpp_layout
from smsplatform.protocols.smpp.pdu import CommandId as SmppCommand


@dataclass(frozen=True, slots=True)
class Width:
    """A text field: its name in the protocol's spec and how many characters (octets) it holds."""

    field: str
    octets: int


@dataclass(frozen=True, slots=True)
class LinkFields:
    """Where a connector's settings go on the wire, and how wide each is.

    `password` is None when the protocol sends only a digest of it (CMPP), so any length works.
    `options` are the protocol options (ConnectorConfig.extra keys) that go into fixed-width fields.
    `numeric_source`: the source number is an access number, digits only.
    """

    login: Width
    password: Width | None
    source_number: Width
    service_id: Width
    options: Mapping[str, Width] = field(default_factory=dict)
    numeric_source: bool = True


def _smpp(command: SmppCommand, name: str) -> Width:
    """A C-Octet String of an SMPP layout: its maximum counts the NUL terminator."""
    for spec in smpp_layout.LAYOUTS[command].fields:
        if spec.name == name:
            return Width(name, spec.max_octets - 1)
    raise KeyError(name)


def _cmpp(version: CmppVersion, command: CmppCommand, name: str, spec_name: str) -> Width:
    for spec in cmpp_layout.LAYOUTS[version][command]:
        if spec.name == name:
            return Width(spec_name, spec.width)
    raise KeyError(name)


def _smpp_fields() -> LinkFields:
    bind, submit = SmppCommand.BIND_TRANSCEIVER, SmppCommand.SUBMIT_SM
    service_type = _smpp(submit, "service_type")
    return LinkFields(
        login=_smpp(bind, "system_id"),
        password=_smpp(bind, "password"),
        source_number=_smpp(submit, "source_addr"),
        service_id=service_type,
        options={
            "system_type": _smpp(bind, "system_type"),
            "address_range": _smpp(bind, "address_range"),
            "service_type": service_type,
        },
        numeric_source=False,  # SMPP carries alphanumeric senders too
    )


def _cmpp_fields(version: CmppVersion) -> LinkFields:
    connect, submit = CmppCommand.CONNECT, CmppCommand.SUBMIT
    service_id = _cmpp(version, submit, "service_id", "Service_Id")
    return LinkFields(
        login=_cmpp(version, connect, "source_addr", "Source_Addr"),
        password=None,  # the shared secret goes into AuthenticatorSource, a digest
        source_number=_cmpp(version, submit, "src_id", "Src_Id"),
        service_id=service_id,
        options={
            "service_id": service_id,
            "fee_type": _cmpp(version, submit, "fee_type", "FeeType"),
            "fee_code": _cmpp(version, submit, "fee_code", "FeeCode"),
        },
    )


def _sgip_fields() -> LinkFields:
    login = Width("Login Name", sgip_codec.LOGIN_WIDTH)
    password = Width("Login Password", sgip_codec.LOGIN_WIDTH)
    service_type = Width("ServiceType", sgip_codec.SERVICE_TYPE_WIDTH)
    return LinkFields(
        login=login,
        password=password,
        source_number=Width("SPNumber", sgip_codec.PHONE_WIDTH),
        service_id=service_type,
        options={
            "service_id": service_type,
            "service_type": service_type,
            "corp_id": Width("CorpId", sgip_codec.CORP_ID_WIDTH),
            "charge_number": Width("ChargeNumber", sgip_codec.PHONE_WIDTH),
            "listen_login": login,
            "listen_password": password,
        },
    )


def _smgp_fields() -> LinkFields:
    service_id = Width("ServiceID", smgp_codec.SERVICE_ID_WIDTH)
    return LinkFields(
        login=Width("ClientID", smgp_codec.CLIENT_ID_WIDTH),
        password=Width("shared secret", smgp_auth.SHARED_SECRET_MAX),
        source_number=Width("SrcTermID", smgp_codec.TERM_ID_WIDTH),
        service_id=service_id,
        options={
            "service_id": service_id,
            "fee_type": Width("FeeType", smgp_codec.FEE_TYPE_WIDTH),
            "fee_code": Width("FeeCode", smgp_codec.FEE_CODE_WIDTH),
            "fixed_fee": Width("FixedFee", smgp_codec.FEE_CODE_WIDTH),
        },
    )


# By the protocol names connectors are configured with ("cmpp" is 3.0, "cmpp2" 2.0).
LINK_FIELDS: Final[Mapping[str, LinkFields]] = {
    "smpp": _smpp_fields(),
    "cmpp": _cmpp_fields(CmppVersion.V30),
    "cmpp2": _cmpp_fields(CmppVersion.V20),
    "sgip": _sgip_fields(),
    "smgp": _smgp_fields(),
}
