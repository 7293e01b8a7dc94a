"""Building the answer to a command, including one the codec could not fully decode.

Spec §3.7.2.4.2: a command that parses but cannot be served gets its normal response with an error
Result; `PduDecodeError` carries the command id and sequence so a link can do that for bodies that
failed to parse as well.
"""

from smsplatform.protocols.sgip.errors import PduDecodeError
from smsplatform.protocols.sgip.pdu import (
    BindResp,
    CommandId,
    DeliverResp,
    ReportResp,
    Request,
    Response,
    SgipSequence,
    SubmitResp,
    UnbindResp,
    UserRptResp,
)
from smsplatform.protocols.sgip.results import Result

_RESULT_RESPONSES: dict[int, type[BindResp | SubmitResp | DeliverResp | ReportResp | UserRptResp]] = {
    CommandId.BIND: BindResp,
    CommandId.SUBMIT: SubmitResp,
    CommandId.DELIVER: DeliverResp,
    CommandId.REPORT: ReportResp,
    CommandId.USERRPT: UserRptResp,
}


def response_for(command_id: int, sequence: SgipSequence, result: int) -> Response | None:
    """The response answering command `command_id`, or None when it is not a request we can answer.

    Unbind_Resp has no Result field, so `result` is dropped for it.
    """
    if command_id == CommandId.UNBIND:
        return UnbindResp(sequence=sequence)
    response_class = _RESULT_RESPONSES.get(command_id)
    if response_class is None:
        return None
    return response_class(sequence=sequence, result=result)


def respond(request: Request, result: int = 0) -> Response:
    """The response to a decoded `request`, echoing its sequence as the spec requires."""
    response = response_for(request.command_id, request.sequence, result)
    if response is None:  # pragma: no cover - every Request class has an entry above
        raise AssertionError(f"no response defined for {type(request).__name__}")
    return response


def error_response(error: PduDecodeError[SgipSequence]) -> Response | None:
    """The answer to a command whose body could not be decoded, or None when there is none to give.

    None for responses (never answered) and for command ids this codec does not know; spec
    §3.7.2.4.2 then has the link drop the connection.
    """
    if error.command_id is None:
        return None
    return response_for(error.command_id, error.sequence, Result.BAD_PARAMETER_FORMAT)
