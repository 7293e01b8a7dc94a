"""SMPP 3.4 framing, for the ESME and the SMSC alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.link.framing import Framing, LinkEnd, PduKind
from smsplatform.protocols.smpp import codec, responses
from smsplatform.protocols.smpp.errors import SmppDecodeError
from smsplatform.protocols.smpp.pdu import CommandId, Pdu

_REQUESTS: Mapping[int, PduKind] = {
    CommandId.SUBMIT_SM: PduKind.SUBMIT,
    CommandId.DELIVER_SM: PduKind.DELIVER,
    CommandId.ENQUIRE_LINK: PduKind.LINK_TEST,
    CommandId.UNBIND: PduKind.UNBIND,
    CommandId.BIND_TRANSCEIVER: PduKind.BIND,
    CommandId.BIND_TRANSMITTER: PduKind.BIND,
    CommandId.BIND_RECEIVER: PduKind.BIND,
}


class SmppFraming(Framing[Pdu]):
    protocol: ClassVar[str] = "smpp"
    requests: ClassVar[Mapping[int, PduKind]] = _REQUESTS

    def request_kinds(self, end: LinkEnd) -> Mapping[int, PduKind]:
        # data_sm carries a message either way: the SMSC takes it as a submit, the ESME as a deliver.
        data_sm = PduKind.SUBMIT if end is LinkEnd.SMSC else PduKind.DELIVER
        return {**_REQUESTS, CommandId.DATA_SM: data_sm}

    def new_reader(self) -> codec.PduReader:
        return codec.PduReader()

    def encode(self, pdu: Pdu) -> bytes:
        return codec.encode(pdu)

    def error_response(self, error: ProtocolError) -> Pdu | None:
        if isinstance(error, SmppDecodeError):
            return responses.error_response(error)
        return None
