"""One framing object per protocol, for both ends of its links."""

from __future__ import annotations

import pytest

from smsplatform.protocols.cmpp.pdu import (
    CmppVersion,
    CommandId,
    ConnectResp,
    ConnectStatus,
    DeliverResp,
    Result,
    SubmitResp,
)
from smsplatform.protocols.errors import PduDecodeError, ProtocolError
from smsplatform.protocols.link.cmpp import CmppFraming
from smsplatform.protocols.link.framing import Framing, LinkEnd, PduKind
from smsplatform.protocols.link.sgip import SgipFraming
from smsplatform.protocols.link.smgp import SmgpFraming
from smsplatform.protocols.link.smpp import SmppFraming

FRAMINGS: list[type[Framing[object]]] = [SmppFraming, CmppFraming, SgipFraming, SmgpFraming]  # type: ignore[list-item]


@pytest.mark.parametrize("framing_class", FRAMINGS)
def test_both_ends_sort_every_request_alike_but_smpp_data_sm(framing_class: type[Framing[object]]) -> None:
    at_esme = framing_class(LinkEnd.ESME).request_kinds(LinkEnd.ESME)
    at_smsc = framing_class(LinkEnd.SMSC).request_kinds(LinkEnd.SMSC)
    differ = {command_id for command_id in range(0x200) if at_esme.get(command_id) != at_smsc.get(command_id)}
    assert differ == ({0x103} if framing_class is SmppFraming else set())  # data_sm


@pytest.mark.parametrize("framing_class", FRAMINGS)
def test_a_reader_error_without_a_sequence_means_the_framing_is_lost(
    framing_class: type[Framing[object]],
) -> None:
    framing = framing_class(LinkEnd.ESME)
    assert framing.framing_lost(ProtocolError("bad length"))
    assert not framing.framing_lost(PduDecodeError("bad body", command_id=0x99, sequence=5))


@pytest.mark.parametrize("end", list(LinkEnd))
@pytest.mark.parametrize(
    ("command_id", "answer"),
    [
        (CommandId.SUBMIT, SubmitResp(sequence=5, msg_id=bytes(8), result=Result.BAD_STRUCTURE)),
        (CommandId.DELIVER, DeliverResp(sequence=5, msg_id=bytes(8), result=Result.BAD_STRUCTURE)),
        (
            CommandId.CONNECT,
            ConnectResp(sequence=5, status=ConnectStatus.BAD_STRUCTURE, version=CmppVersion.V20),
        ),
        (CommandId.QUERY, None),  # no result to carry the error: its asker times out
    ],
)
def test_cmpp_answers_an_unreadable_request_with_its_own_response(
    end: LinkEnd, command_id: int, answer: object
) -> None:
    framing = CmppFraming(end, CmppVersion.V20)
    assert framing.error_response(PduDecodeError("bad body", command_id=command_id, sequence=5)) == answer


def test_a_cmpp_framing_reads_and_writes_its_own_version() -> None:
    framing = CmppFraming(LinkEnd.SMSC, CmppVersion.V20)
    answer = ConnectResp(sequence=1, status=ConnectStatus.OK, version=CmppVersion.V20)
    reader = framing.new_reader()
    reader.receive_data(framing.encode(answer))
    pdu = reader.next_pdu()
    assert pdu == answer and framing.classify(pdu) is PduKind.RESPONSE and framing.key(pdu) == 1
