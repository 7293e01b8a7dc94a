"""The answer a request gets, so links and the simulator build responses the same way."""

from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.pdu import (
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    is_response_id,
)
from smsplatform.protocols.smpp.status import CommandStatus

Request = (
    BindTransmitter | BindReceiver | BindTransceiver | Unbind | EnquireLink | SubmitSm | DeliverSm | DataSm
)
Response = (
    BindTransmitterResp
    | BindReceiverResp
    | BindTransceiverResp
    | UnbindResp
    | EnquireLinkResp
    | SubmitSmResp
    | DeliverSmResp
    | DataSmResp
)

_RESPONSE_CLASS: dict[int, type[Response]] = {
    CommandId.BIND_TRANSMITTER: BindTransmitterResp,
    CommandId.BIND_RECEIVER: BindReceiverResp,
    CommandId.BIND_TRANSCEIVER: BindTransceiverResp,
    CommandId.UNBIND: UnbindResp,
    CommandId.ENQUIRE_LINK: EnquireLinkResp,
    CommandId.SUBMIT_SM: SubmitSmResp,
    CommandId.DELIVER_SM: DeliverSmResp,
    CommandId.DATA_SM: DataSmResp,
}


_KNOWN_IDS = frozenset(int(command_id) for command_id in CommandId)


def response_class(command_id: int) -> type[Response] | None:
    """The response PDU class for a request command id; None for outbind and unknown ids."""
    return _RESPONSE_CLASS.get(command_id)


def response_to(request: Request, command_status: int = CommandStatus.ESME_ROK) -> Response:
    """A body-less response echoing the request's sequence; add ids with `dataclasses.replace`."""
    return _RESPONSE_CLASS[request.command_id](sequence=request.sequence, command_status=command_status)


def error_response(error: SmppDecodeError) -> Pdu | None:
    """What to send back for a PDU that could not be decoded, or None when nothing should be.

    A request we know answers with its own response and the error status; an unknown command id or
    a broken frame gets a generic_nack (spec §4.3); a malformed response is not answered.
    """
    if error.command_id is None:
        return GenericNack(sequence=error.sequence or 0, command_status=error.status)
    if is_response_id(error.command_id) and error.command_id in _KNOWN_IDS:
        return None
    sequence = error.sequence or 0
    response = response_class(error.command_id)
    if response is None:
        return GenericNack(sequence=sequence, command_status=CommandStatus.ESME_RINVCMDID)
    return response(sequence=sequence, command_status=error.status)
