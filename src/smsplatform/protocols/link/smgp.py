"""SMGP 3.0 framing, for the SP and the gateway alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import Framing, PduKind
from smsplatform.protocols.smgp import codec, responses
from smsplatform.protocols.smgp.errors import PduDecodeError
from smsplatform.protocols.smgp.pdu import CommandId, Pdu


class SmgpFraming(Framing[Pdu]):
    protocol: ClassVar[str] = "smgp"
    requests: ClassVar[Mapping[int, PduKind]] = {
        CommandId.SUBMIT: PduKind.SUBMIT,
        CommandId.DELIVER: PduKind.DELIVER,
        CommandId.ACTIVE_TEST: PduKind.LINK_TEST,
        CommandId.EXIT: PduKind.UNBIND,
        CommandId.LOGIN: PduKind.BIND,
    }

    def new_reader(self) -> codec.PduReader:
        return codec.PduReader()

    def encode(self, pdu: Pdu) -> bytes:
        return codec.encode(pdu)

    def error_response(self, error: ProtocolError) -> Pdu | None:
        if isinstance(error, PduDecodeError):
            return responses.error_response(error)
        return None
