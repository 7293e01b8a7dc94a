"""What a connector's settings must fit before they are saved: each protocol's own field widths.

A CMPP SP id of seven characters, an SMPP password of nine, a source number that leaves no room for
the sub-accounts' extension codes: the codec refuses each of them, but only once the link binds or a
message goes out, where the operator sees a link that never comes up or messages failing one by one.
Checked when the connector is added or edited, they are a sentence on the form instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from smsplatform.protocols.limits import LINK_FIELDS, LinkFields, Width

# A sub-account's extension code (扩展码) goes after the connector's source number on every submit;
# extension codes have at least four digits (the sub-account's id, zero-padded).
EXTENSION_DIGITS = 4

PROTOCOLS = tuple(LINK_FIELDS)


def check_connector_fields(
    protocol: str,
    *,
    system_id: str,
    password: str,
    source_number: str,
    service_id: str = "",
    options: Mapping[str, str] | None = None,
) -> list[str]:
    """Readable problems with a connector's settings for `protocol`; an empty list when they fit.

    `service_id` is the protocol's service field (SMPP service_type, CMPP Service_Id, SGIP
    ServiceType, SMGP ServiceID); `options` the protocol options, those with a fixed width checked.
    """
    fields = LINK_FIELDS.get(protocol.lower())
    if fields is None:
        return [f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}"]
    name = _protocol_name(protocol)
    problems: list[str] = []
    problems += _fits("system id", system_id, fields.login, name)
    if not system_id:
        problems.append(f"system id: {name} logs in with it ({fields.login.field}); it cannot be empty")
    if fields.password is not None:
        problems += _fits("password", password, fields.password, name)
    problems += _source_number(source_number, fields, name)
    problems += _fits("service id", service_id, fields.service_id, name)
    for key, value in sorted((options or {}).items()):
        width = fields.options.get(key)
        if width is not None and not (width == fields.service_id and value == service_id):
            problems += _fits(f"option {key}", value, width, name)
    if protocol.lower() == "sgip" and not (options or {}).get("listen_port"):
        problems.append(
            "option listen_port: SGIP needs it: the SMG connects back to this port with reports and "
            "replies (0 picks a free one)"
        )
    return problems


def _protocol_name(protocol: str) -> str:
    return "CMPP 2.0" if protocol.lower() == "cmpp2" else protocol.upper()


def _fits(label: str, value: str, width: Width, protocol: str) -> list[str]:
    if not value.isascii():
        return [f"{label}: {protocol}'s {width.field} takes ASCII characters only"]
    if len(value) > width.octets:
        return [
            f"{label}: {protocol}'s {width.field} holds at most {width.octets} characters, "
            f"this one has {len(value)}"
        ]
    return []


def _source_number(source_number: str, fields: LinkFields, protocol: str) -> list[str]:
    width = fields.source_number
    problems = _fits("source number", source_number, width, protocol)
    if problems:
        return problems
    if fields.numeric_source and not source_number.isdigit() and source_number:
        return [f"source number: {protocol}'s {width.field} is an access number, digits only"]
    room = width.octets - EXTENSION_DIGITS
    if len(source_number) > room:
        return [
            f"source number: at most {room} characters, so that a sub-account's extension code "
            f"({EXTENSION_DIGITS} digits or more) still fits in {protocol}'s {width.field} of "
            f"{width.octets}"
        ]
    return problems
