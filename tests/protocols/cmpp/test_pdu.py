from __future__ import annotations

import pytest

from smsplatform.protocols.cmpp.pdu import CmppVersion, CommandId, Deliver, Result, is_transient_result


@pytest.mark.parametrize(
    ("octet", "version"),
    [(0x20, CmppVersion.V20), (0x21, CmppVersion.V20), (0x30, CmppVersion.V30), (0x31, CmppVersion.V30)],
)
def test_version_octet_picks_the_layout(octet: int, version: CmppVersion) -> None:
    assert CmppVersion.from_wire(octet) is version


def test_only_flow_control_is_transient() -> None:
    assert is_transient_result(8)
    assert is_transient_result(Result.FLOW_CONTROL)
    for result in (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 99, 100, 199):
        assert not is_transient_result(result)


def test_responses_have_the_high_bit() -> None:
    assert CommandId.SUBMIT_RESP.is_response
    assert not CommandId.SUBMIT.is_response
    assert all(c.is_response == (c.value >= 0x80000000) for c in CommandId)


def test_deliver_is_a_report_when_registered_delivery_is_one() -> None:
    mo = Deliver(sequence=1, msg_id=bytes(8), dest_id="1069", src_terminal_id="138", msg_content=b"hi")
    assert not mo.is_report
    report = Deliver(
        sequence=1,
        msg_id=bytes(8),
        dest_id="1069",
        src_terminal_id="138",
        registered_delivery=1,
        msg_content=b"",
    )
    assert report.is_report
