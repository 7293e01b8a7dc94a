"""The SMPP flavour of ProtocolError, carrying what a link needs to answer the bad PDU."""

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.smpp.status import CommandStatus


class SmppDecodeError(ProtocolError):
    """A frame that could not be decoded.

    `command_id` and `sequence` are set when the frame was whole and its header readable: the link
    answers with `responses.error_response(error)` and goes on reading, as spec §3.3 asks. They are
    None when the framing itself is broken (a command_length out of range); the stream cannot be
    resynchronised then, and the link should send a generic_nack and close. `status` is the
    command_status that best describes the fault.
    """

    def __init__(
        self,
        message: str,
        *,
        command_id: int | None = None,
        sequence: int | None = None,
        status: int = CommandStatus.ESME_RSYSERR,
    ) -> None:
        super().__init__(message)
        self.command_id = command_id
        self.sequence = sequence
        self.status = status
