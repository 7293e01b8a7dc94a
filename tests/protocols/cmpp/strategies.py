"""Hypothesis strategies for every CMPP PDU, as each version can carry it."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smsplatform.protocols.cmpp.pdu import (
    ActiveTest,
    ActiveTestResp,
    Cancel,
    CancelResp,
    CmppVersion,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    Pdu,
    Query,
    QueryResp,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
msg_ids = st.binary(min_size=8, max_size=8)
contents = st.binary(max_size=255)


def text(width: int) -> st.SearchStrategy[str]:
    """ASCII without NUL, up to the field width: what a NUL-padded field carries back unchanged."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=width)


def pdu_strategies(version: CmppVersion) -> dict[type[Pdu], st.SearchStrategy[Pdu]]:
    """One strategy per PDU class, so each class gets its own examples; 2.0 leaves 3.0-only fields default."""
    v30 = version is CmppVersion.V30
    terminal = 32 if v30 else 21
    status = u32 if v30 else u8
    only_v30: dict[str, st.SearchStrategy[Any]] = {}

    def v30_field(name: str, strategy: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
        return {name: strategy} if v30 else only_v30

    classes: dict[type[Any], dict[str, st.SearchStrategy[Any]]] = {
        Connect: dict(
            source_addr=text(6),
            authenticator_source=st.binary(min_size=16, max_size=16),
            version=u8,
            timestamp=u32,
        ),
        ConnectResp: dict(status=status, authenticator_ismg=st.binary(min_size=16, max_size=16), version=u8),
        Terminate: {},
        TerminateResp: {},
        Submit: dict(
            msg_id=msg_ids,
            pk_total=u8,
            pk_number=u8,
            registered_delivery=u8,
            msg_level=u8,
            service_id=text(10),
            fee_user_type=u8,
            fee_terminal_id=text(terminal),
            **v30_field("fee_terminal_type", u8),
            tp_pid=u8,
            tp_udhi=u8,
            msg_fmt=u8,
            msg_src=text(6),
            fee_type=text(2),
            fee_code=text(6),
            valid_time=text(17),
            at_time=text(17),
            src_id=text(21),
            dest_terminal_ids=st.lists(text(terminal), max_size=5).map(tuple),
            **v30_field("dest_terminal_type", u8),
            msg_content=contents,
            **v30_field("link_id", text(20)),
        ),
        SubmitResp: dict(msg_id=msg_ids, result=status),
        Deliver: dict(
            msg_id=msg_ids,
            dest_id=text(21),
            service_id=text(10),
            tp_pid=u8,
            tp_udhi=u8,
            msg_fmt=u8,
            src_terminal_id=text(terminal),
            **v30_field("src_terminal_type", u8),
            registered_delivery=u8,
            msg_content=contents,
            **v30_field("link_id", text(20)),
        ),
        DeliverResp: dict(msg_id=msg_ids, result=status),
        Query: dict(time=text(8), query_type=u8, query_code=text(10), reserve=text(8)),
        QueryResp: dict(
            time=text(8),
            query_type=u8,
            query_code=text(10),
            **{
                n: u32
                for n in ("mt_tl_msg", "mt_tl_usr", "mt_scs", "mt_wt", "mt_fl", "mo_scs", "mo_wt", "mo_fl")
            },
        ),
        Cancel: dict(msg_id=msg_ids),
        CancelResp: dict(success_id=status),
        ActiveTest: {},
        ActiveTestResp: dict(reserved=u8),
    }
    return {cls: st.builds(cls, sequence=u32, **fields) for cls, fields in classes.items()}


def pdus(version: CmppVersion) -> st.SearchStrategy[Pdu]:
    return st.one_of(*pdu_strategies(version).values())
