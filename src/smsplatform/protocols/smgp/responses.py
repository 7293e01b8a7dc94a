"""Building the answer to a request, including one the codec could not fully decode.

SMGP has no generic_nack: a request that cannot be served, or not even read, is answered with its
own response type and a non-zero Status, which needs only the RequestID and SequenceID.
"""

from smsplatform.protocols.smgp.errors import PduDecodeError
from smsplatform.protocols.smgp.pdu import (
    ActiveTestResp,
    CommandId,
    DeliverResp,
    ExitResp,
    LoginResp,
    Response,
    SubmitResp,
)
from smsplatform.protocols.smgp.status import Status


def response_for(command_id: int, sequence: int, status: int) -> Response | None:
    """The response answering request `command_id` with `status`, or None when it is not a request we know.

    Submit_Resp and Deliver_Resp get an all-zero MsgID (no message was taken); Active_Test_Resp and
    Exit_Resp have no Status, so it is dropped for them.
    """
    match command_id:
        case CommandId.LOGIN:
            return LoginResp(sequence, status)
        case CommandId.SUBMIT:
            return SubmitResp(sequence, status=status)
        case CommandId.DELIVER:
            return DeliverResp(sequence, status=status)
        case CommandId.ACTIVE_TEST:
            return ActiveTestResp(sequence)
        case CommandId.EXIT:
            return ExitResp(sequence)
        case _:
            return None


def error_response(error: PduDecodeError[int]) -> Response | None:
    """The answer to a request whose body could not be decoded, or None when there is none to give.

    None for responses (never answered) and for RequestIDs this codec does not know, whose response
    layout it cannot write; the link then logs it, or drops the connection if that keeps happening.
    """
    if error.command_id is None:
        return None
    return response_for(error.command_id, error.sequence, Status.MESSAGE_STRUCTURE_ERROR)
