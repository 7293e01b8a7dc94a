"""CMPP 2.0/3.0 (China Mobile) codec: PDUs, framing, login digests, Msg_Id and status reports."""

from smsplatform.protocols.cmpp.codec import PduReader, decode, encode
from smsplatform.protocols.cmpp.errors import PduDecodeError
from smsplatform.protocols.cmpp.pdu import CmppVersion, CommandId, Pdu

__all__ = ["CmppVersion", "CommandId", "Pdu", "PduDecodeError", "PduReader", "decode", "encode"]
