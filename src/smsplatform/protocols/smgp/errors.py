"""The error for one bad PDU inside a well-framed SMGP stream: the shared `protocols.errors.PduDecodeError`.

The link answers its `command_id`/`sequence` with an error Status (`responses.error_response`) and
carries on; a plain ProtocolError from the reader means the framing itself is lost.
"""

from smsplatform.protocols.errors import PduDecodeError

__all__ = ["PduDecodeError"]
