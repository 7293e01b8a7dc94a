"""CMPP 2.0/3.0 framing, for the SP and the ISMG alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

from smsplatform.protocols.cmpp import codec
from smsplatform.protocols.cmpp.errors import PduDecodeError
from smsplatform.protocols.cmpp.pdu import (
    CmppVersion,
    CommandId,
    ConnectResp,
    ConnectStatus,
    DeliverResp,
    Pdu,
    Result,
    SubmitResp,
)
from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import Framing, LinkEnd, PduKind

# The Msg_Id of an answer to a PDU whose own could not be read.
_NO_MSG_ID: Final = bytes(8)


class CmppFraming(Framing[Pdu]):
    protocol: ClassVar[str] = "cmpp"
    requests: ClassVar[Mapping[int, PduKind]] = {
        CommandId.SUBMIT: PduKind.SUBMIT,
        CommandId.DELIVER: PduKind.DELIVER,
        CommandId.ACTIVE_TEST: PduKind.LINK_TEST,
        CommandId.TERMINATE: PduKind.UNBIND,
        CommandId.CONNECT: PduKind.BIND,
    }

    def __init__(self, end: LinkEnd, version: CmppVersion = CmppVersion.V30) -> None:
        super().__init__(end)
        self.version = version

    def new_reader(self) -> codec.PduReader:
        return codec.PduReader(self.version)

    def encode(self, pdu: Pdu) -> bytes:
        return codec.encode(pdu, self.version)

    def error_response(self, error: ProtocolError) -> Pdu | None:
        # CMPP has no generic error answer: only the requests whose answer carries a result get one.
        if not isinstance(error, PduDecodeError) or error.sequence is None:
            return None
        sequence = error.sequence
        if error.command_id == CommandId.SUBMIT:
            return SubmitResp(sequence=sequence, msg_id=_NO_MSG_ID, result=Result.BAD_STRUCTURE)
        if error.command_id == CommandId.DELIVER:
            return DeliverResp(sequence=sequence, msg_id=_NO_MSG_ID, result=Result.BAD_STRUCTURE)
        if error.command_id == CommandId.CONNECT:
            return ConnectResp(sequence=sequence, status=ConnectStatus.BAD_STRUCTURE, version=self.version)
        return None
