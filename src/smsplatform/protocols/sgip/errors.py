"""The error for one bad PDU inside a well-framed SGIP stream: the shared `protocols.errors.PduDecodeError`.

Its `sequence` is an `SgipSequence`. The link answers its `command_id`/`sequence` with an error Result
(`responses.error_response`) and carries on; a plain ProtocolError from the reader means the framing
itself is lost and the link should close.
"""

from smsplatform.protocols.errors import PduDecodeError

__all__ = ["PduDecodeError"]
