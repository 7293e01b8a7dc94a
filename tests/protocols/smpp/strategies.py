"""Hypothesis strategies for every SMPP PDU, within the limits the spec puts on each field."""

from typing import Any

from hypothesis import strategies as st

from smsplatform.protocols.smpp.layout import LAYOUTS, Kind
from smsplatform.protocols.smpp.pdu import Pdu
from smsplatform.protocols.smpp.tlv import Tlv

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
tlvs = st.lists(
    st.builds(Tlv, st.integers(0, 0xFFFF), st.binary(max_size=300)),
    max_size=4,
).map(tuple)


def cstring(max_octets: int) -> st.SearchStrategy[str]:
    """C-Octet String values: 8-bit text without NUL, leaving room for the terminator."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=max_octets - 1)


def pdus_of(pdu_class: type[Pdu]) -> st.SearchStrategy[Pdu]:
    layout = next(layout for layout in LAYOUTS.values() if layout.pdu_class is pdu_class)
    fields: dict[str, st.SearchStrategy[Any]] = {"sequence": u32, "command_status": u32}
    for field in layout.fields:
        if field.kind is Kind.CSTRING:
            fields[field.name] = cstring(field.max_octets)
        elif field.kind is Kind.UINT8:
            fields[field.name] = u8
        else:
            fields[field.name] = st.binary(max_size=254)
    if layout.tlvs:
        fields["tlvs"] = tlvs
    return st.builds(pdu_class, **fields)


any_pdu = st.one_of([pdus_of(layout.pdu_class) for layout in LAYOUTS.values()])
