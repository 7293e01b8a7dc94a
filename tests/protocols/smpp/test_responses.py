import pytest

from smsplatform.protocols.smpp.codec import decode
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
)
from smsplatform.protocols.smpp.responses import error_response, response_to
from smsplatform.protocols.smpp.status import CommandStatus


def test_response_to_echoes_sequence() -> None:
    assert response_to(EnquireLink(sequence=9)) == EnquireLinkResp(sequence=9)
    assert response_to(BindTransceiver(sequence=2), CommandStatus.ESME_RINVPASWD) == BindTransceiverResp(
        sequence=2, command_status=CommandStatus.ESME_RINVPASWD
    )


def decode_error(frame: str) -> SmppDecodeError:
    with pytest.raises(SmppDecodeError) as caught:
        decode(bytes.fromhex(frame))
    return caught.value


def test_malformed_request_gets_its_own_response() -> None:
    error = decode_error("00000012 00000004 00000000 0000002A 0000")
    assert error_response(error) == SubmitSmResp(sequence=42, command_status=CommandStatus.ESME_RINVCMDLEN)


def test_unknown_command_gets_generic_nack() -> None:
    error = decode_error("00000010 00000003 00000000 00000007")
    assert error_response(error) == GenericNack(sequence=7, command_status=CommandStatus.ESME_RINVCMDID)


def test_malformed_response_is_not_answered() -> None:
    error = decode_error("00000014 80000004 00000000 00000007 41424344")
    assert error.command_id == CommandId.SUBMIT_SM_RESP
    assert error_response(error) is None


def test_broken_framing_gets_generic_nack() -> None:
    error = SmppDecodeError("bad length", status=CommandStatus.ESME_RINVCMDLEN)
    assert error_response(error) == GenericNack(sequence=0, command_status=CommandStatus.ESME_RINVCMDLEN)


def test_response_to_submit() -> None:
    assert response_to(SubmitSm(sequence=3)) == SubmitSmResp(sequence=3)
