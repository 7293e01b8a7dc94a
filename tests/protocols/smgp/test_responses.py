import pytest

from smsplatform.protocols.smgp.codec import decode, encode
from smsplatform.protocols.smgp.errors import PduDecodeError
from smsplatform.protocols.smgp.pdu import (
    ActiveTestResp,
    CommandId,
    DeliverResp,
    ExitResp,
    LoginResp,
    SubmitResp,
)
from smsplatform.protocols.smgp.responses import error_response, response_for
from smsplatform.protocols.smgp.status import Status


def test_an_undecodable_submit_is_answered_with_a_structure_error() -> None:
    frame = bytes.fromhex("0000000f 00000002 00000063") + b"abc"
    with pytest.raises(PduDecodeError) as raised:
        decode(frame)
    answer = error_response(raised.value)
    assert answer == SubmitResp(0x63, msg_id=bytes(10), status=Status.MESSAGE_STRUCTURE_ERROR)
    assert answer is not None
    assert encode(answer)[4:8] == bytes.fromhex("80000002")


@pytest.mark.parametrize(
    ("command_id", "expected"),
    [
        (CommandId.LOGIN, LoginResp(4, status=21)),
        (CommandId.DELIVER, DeliverResp(4, status=21)),
        (CommandId.ACTIVE_TEST, ActiveTestResp(4)),
        (CommandId.EXIT, ExitResp(4)),
    ],
)
def test_each_request_has_its_response(command_id: int, expected: object) -> None:
    assert response_for(command_id, 4, 21) == expected


@pytest.mark.parametrize("command_id", [CommandId.SUBMIT_RESP, CommandId.EXIT_RESP, 0x00000005, 0x12345678])
def test_responses_and_unknown_requests_get_no_answer(command_id: int) -> None:
    assert error_response(PduDecodeError("x", command_id=command_id, sequence=1)) is None
