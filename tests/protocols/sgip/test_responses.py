import pytest

from smsplatform.protocols.sgip.codec import decode
from smsplatform.protocols.sgip.errors import PduDecodeError
from smsplatform.protocols.sgip.pdu import (
    Bind,
    BindResp,
    CommandId,
    Deliver,
    DeliverResp,
    Report,
    ReportResp,
    Request,
    Response,
    SgipSequence,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
    UserRpt,
    UserRptResp,
)
from smsplatform.protocols.sgip.responses import error_response, respond, response_for
from smsplatform.protocols.sgip.results import Result

SEQ = SgipSequence(1, 2, 3)


@pytest.mark.parametrize(
    ("request_pdu", "expected"),
    [
        (
            Bind(sequence=SEQ, login_type=1, login_name="a", login_password="b"),
            BindResp(sequence=SEQ, result=0),
        ),
        (Unbind(sequence=SEQ), UnbindResp(sequence=SEQ)),
        (
            Submit(sequence=SEQ, sp_number="1", user_numbers=("2",), message_coding=0, message_content=b""),
            SubmitResp(sequence=SEQ, result=0),
        ),
        (
            Deliver(sequence=SEQ, user_number="2", sp_number="1", message_coding=0, message_content=b""),
            DeliverResp(sequence=SEQ, result=0),
        ),
        (
            Report(sequence=SEQ, submit_sequence=SEQ, user_number="2", state=0),
            ReportResp(sequence=SEQ, result=0),
        ),
        (
            UserRpt(sequence=SEQ, sp_number="1", user_number="2", user_condition=0),
            UserRptResp(sequence=SEQ, result=0),
        ),
    ],
)
def test_every_request_has_its_response_echoing_the_sequence(
    request_pdu: Request, expected: Response
) -> None:
    assert respond(request_pdu) == expected


def test_error_response_for_an_undecodable_submit() -> None:
    assert response_for(CommandId.SUBMIT, SEQ, Result.BAD_PARAMETER_FORMAT) == SubmitResp(
        sequence=SEQ, result=5
    )


@pytest.mark.parametrize("command_id", [CommandId.SUBMIT_RESP, CommandId.UNBIND_RESP, 0x6, 0x1000])
def test_responses_and_unknown_commands_get_no_response(command_id: int) -> None:
    assert response_for(command_id, SEQ, 0) is None


def test_an_undecodable_submit_is_answered_with_a_parameter_format_error() -> None:
    frame = bytes.fromhex("0000001a00000003000000010000000200000003") + b"\0" * 6
    with pytest.raises(PduDecodeError) as raised:
        decode(frame)
    assert error_response(raised.value) == SubmitResp(sequence=SEQ, result=Result.BAD_PARAMETER_FORMAT)
