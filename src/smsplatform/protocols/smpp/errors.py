"""The SMPP flavour of the shared PduDecodeError, carrying the command_status to answer with."""

from smsplatform.protocols.errors import PduDecodeError
from smsplatform.protocols.smpp.status import CommandStatus


class SmppDecodeError(PduDecodeError[int | None]):
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
        super().__init__(message, command_id=command_id, sequence=sequence)
        self.status = status
