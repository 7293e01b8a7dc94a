"""SGIP 1.2 framing, for the SP and the SMG alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import Framing, PduKind
from smsplatform.protocols.sgip import codec, responses
from smsplatform.protocols.sgip.errors import PduDecodeError
from smsplatform.protocols.sgip.pdu import CommandId, Pdu


class SgipFraming(Framing[Pdu]):
    """SGIP has no link test: each end closes idle links and the other binds again."""

    protocol: ClassVar[str] = "sgip"
    requests: ClassVar[Mapping[int, PduKind]] = {
        CommandId.SUBMIT: PduKind.SUBMIT,
        CommandId.DELIVER: PduKind.DELIVER,
        CommandId.REPORT: PduKind.DELIVER,
        CommandId.USERRPT: PduKind.DELIVER,
        CommandId.UNBIND: PduKind.UNBIND,
        CommandId.BIND: PduKind.BIND,
    }

    def new_reader(self) -> codec.PduReader:
        return codec.PduReader()

    def encode(self, pdu: Pdu) -> bytes:
        return codec.encode(pdu)

    def error_response(self, error: ProtocolError) -> Pdu | None:
        if isinstance(error, PduDecodeError):
            return responses.error_response(error)
        return None
