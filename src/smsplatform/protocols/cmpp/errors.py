"""The error for one bad PDU inside a well-framed CMPP stream: the shared `PduDecodeError`."""

from smsplatform.protocols.errors import PduDecodeError

__all__ = ["PduDecodeError"]
