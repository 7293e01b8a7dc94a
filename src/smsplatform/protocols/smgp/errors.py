"""The error for one bad PDU inside a well-framed SMGP stream."""

from smsplatform.protocols.errors import ProtocolError


class PduDecodeError(ProtocolError):
    """A frame whose header was read but whose body cannot be decoded (or whose RequestID is unknown).

    The stream is still in step, so the link can answer `command_id`/`sequence` with an error Status
    (`responses.error_response`) and carry on; a plain ProtocolError from the reader means the framing
    itself is lost and the link should close.
    """

    def __init__(self, message: str, *, command_id: int, sequence: int) -> None:
        super().__init__(f"{message} (command_id=0x{command_id:08x}, sequence={sequence})")
        self.command_id = command_id
        self.sequence = sequence
