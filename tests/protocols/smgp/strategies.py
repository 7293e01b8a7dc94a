"""Hypothesis strategies for SMGP PDUs, shared by the codec tests."""

from hypothesis import strategies as st

from smsplatform.protocols.smgp.pdu import (
    ActiveTest,
    ActiveTestResp,
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
from smsplatform.protocols.smgp.tlv import Tlv

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFFFFFF)
msg_ids = st.binary(min_size=10, max_size=10)
contents = st.binary(max_size=255)
tlv_lists = st.lists(
    st.builds(Tlv, tag=st.integers(0, 0xFFFF), value=st.binary(max_size=24)), max_size=4
).map(tuple)


def octet_text(width: int) -> st.SearchStrategy[str]:
    """Field text as a peer may send it: any non-NUL octet (NUL is the padding), up to the width."""
    return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=width)


logins = st.builds(
    Login,
    sequence=u32,
    client_id=octet_text(8),
    authenticator_client=st.binary(min_size=16, max_size=16),
    login_mode=u8,
    timestamp=u32,
    client_version=u8,
)
login_resps = st.builds(
    LoginResp,
    sequence=u32,
    status=u32,
    authenticator_server=st.binary(min_size=16, max_size=16),
    server_version=u8,
)
submits = st.builds(
    Submit,
    sequence=u32,
    msg_type=u8,
    need_report=u8,
    priority=u8,
    service_id=octet_text(10),
    fee_type=octet_text(2),
    fee_code=octet_text(6),
    fixed_fee=octet_text(6),
    msg_format=u8,
    valid_time=octet_text(17),
    at_time=octet_text(17),
    src_term_id=octet_text(21),
    charge_term_id=octet_text(21),
    dest_term_ids=st.lists(octet_text(21), max_size=8).map(tuple),
    msg_content=contents,
    reserve=octet_text(8),
    tlvs=tlv_lists,
)
delivers = st.builds(
    Deliver,
    sequence=u32,
    msg_id=msg_ids,
    is_report=u8,
    msg_format=u8,
    recv_time=octet_text(14),
    src_term_id=octet_text(21),
    dest_term_id=octet_text(21),
    msg_content=contents,
    reserve=octet_text(8),
    tlvs=tlv_lists,
)
submit_resps = st.builds(SubmitResp, sequence=u32, msg_id=msg_ids, status=u32)
deliver_resps = st.builds(DeliverResp, sequence=u32, msg_id=msg_ids, status=u32)

pdus: st.SearchStrategy[Pdu] = st.one_of(
    logins,
    login_resps,
    submits,
    submit_resps,
    delivers,
    deliver_resps,
    st.builds(ActiveTest, sequence=u32),
    st.builds(ActiveTestResp, sequence=u32),
    st.builds(Exit, sequence=u32),
    st.builds(ExitResp, sequence=u32),
)
