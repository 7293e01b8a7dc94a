"""The SMPP simulator on the wire: a third-party client (smpplib) and hand-made PDUs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import smpplib.client

from smsplatform.protocols.smpp import codec
from smsplatform.protocols.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    Pdu,
    SubmitSm,
)
from smsplatform.protocols.smpp.receipt import parse_receipt
from smsplatform.protocols.smpp.status import CommandStatus
from smsplatform.protocols.smpp.tlv import Tlv, TlvTag
from smsplatform.protocols.text import TextEncoding
from smsplatform.simulator.dialect import MoPart, Outgoing, Receipt, SubmitStatus
from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.runner import create_simulator, dialect_for
from smsplatform.simulator.server import SmscServer


class Esme:
    """A raw SMPP client on our codec."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.frames = reader, writer, codec.PduReader()

    @classmethod
    async def connect(cls, server: SmscServer[Any]) -> Esme:
        return cls(*await asyncio.open_connection("127.0.0.1", server.port))

    async def request(self, pdu: Pdu) -> Pdu:
        self.writer.write(codec.encode(pdu))
        return await self.receive()

    async def receive(self) -> Pdu:
        while (pdu := self.frames.next_pdu()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), 2.0)
            assert data, "closed"
            self.frames.receive_data(data)
        return pdu

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = create_simulator("smpp", {"esme": "pw"}, LastDigitRule(delay=0.0))
    await server.start()
    yield server
    await server.close()


async def test_smpplib_client_submits_and_gets_a_receipt(smsc: SmscServer[Any]) -> None:
    def talk() -> tuple[str, dict[str, Any]]:
        client = smpplib.client.Client("127.0.0.1", smsc.port, timeout=3, allow_unknown_opt_params=True)
        sent: list[str] = []
        received: list[Any] = []
        client.set_message_sent_handler(lambda pdu: sent.append(pdu.message_id.decode()))
        client.set_message_received_handler(lambda pdu: received.append(pdu))
        client.connect()
        try:
            client.bind_transceiver(system_id="esme", password="pw")
            client.send_message(
                source_addr="1069",
                destination_addr="13800138009",
                short_message=b"hello",
                registered_delivery=1,
            )
            while not (sent and received):
                client.read_once()
            receipt = received[0]
            fields = {
                "esm_class": receipt.esm_class,
                "text": receipt.short_message.decode(),
                "receipted_message_id": receipt.receipted_message_id,
                "message_state": receipt.message_state,
            }
            client.unbind()
        finally:
            client.disconnect()
        return sent[0], fields

    message_id, receipt = await asyncio.to_thread(talk)
    assert len(message_id) == 10
    assert receipt["esm_class"] == 0x04
    parsed = parse_receipt(receipt["text"])
    assert (parsed.id, parsed.stat, parsed.err, parsed.text) == (message_id, "REJECTD", "008", "hello")
    assert receipt["message_state"] == 8
    assert receipt["receipted_message_id"] in (message_id, message_id.encode())
    assert smsc.received[0].text == "hello"
    assert smsc.counters.receipts_acked == 1


async def test_bind_errors(smsc: SmscServer[Any]) -> None:
    esme = await Esme.connect(smsc)
    refused = await esme.request(BindTransceiver(sequence=1, system_id="esme", password="guess"))
    assert refused.command_status == CommandStatus.ESME_RINVPASWD
    esme.close()
    esme = await Esme.connect(smsc)
    assert (await esme.request(BindReceiver(sequence=1, system_id="esme", password="pw"))).command_status == 0
    again = await esme.request(BindReceiver(sequence=2, system_id="esme", password="pw"))
    assert again.command_status == CommandStatus.ESME_RALYBND
    on_receiver = await esme.request(SubmitSm(sequence=3, destination_addr="1", short_message=b"x"))
    assert on_receiver.command_status == CommandStatus.ESME_RINVBNDSTS
    esme.close()


async def test_sar_segments_and_receipt_on_failure_only(smsc: SmscServer[Any]) -> None:
    esme = await Esme.connect(smsc)
    await esme.request(BindTransceiver(sequence=1, system_id="esme", password="pw"))
    ids = []
    for seq, part in enumerate([b"Hello ", b"world"], start=1):
        sar = (
            Tlv.uint(TlvTag.SAR_MSG_REF_NUM, 0x1234, 2),
            Tlv.uint(TlvTag.SAR_TOTAL_SEGMENTS, 2, 1),
            Tlv.uint(TlvTag.SAR_SEGMENT_SEQNUM, seq, 1),
        )
        pdu = SubmitSm(
            sequence=1 + seq,
            destination_addr="13800138000",
            short_message=part,
            tlvs=sar,
            registered_delivery=2,  # receipts on failure only; this one is delivered
        )
        ids.append((await esme.request(pdu)).message_id)  # type: ignore[union-attr]
    failing = SubmitSm(sequence=9, destination_addr="13800138007", short_message=b"x", registered_delivery=2)
    await esme.request(failing)
    receipt = await esme.receive()
    assert isinstance(receipt, DeliverSm) and receipt.message_state == 5  # only the failure
    esme.writer.write(codec.encode(DeliverSmResp(sequence=receipt.sequence)))
    assert [(m.text, list(m.message_ids)) for m in smsc.received[:1]] == [("Hello world", ids)]
    esme.close()


async def test_mo_is_split_with_udh(smsc: SmscServer[Any]) -> None:
    esme = await Esme.connect(smsc)
    await esme.request(BindTransceiver(sequence=1, system_id="esme", password="pw"))
    smsc.inject_mo("13900139000", "1069", "你" * 71)
    parts = [await esme.receive(), await esme.receive()]
    assert all(isinstance(p, DeliverSm) and p.udhi and p.data_coding == 8 for p in parts)
    esme.close()


def test_message_id_forms() -> None:
    assert dialect_for("smpp").message_id(0x1A2B) == "0000001A2B"
    assert dialect_for("smpp", {"id_format": "dec"}).message_id(6699) == "0000006699"
    with pytest.raises(ValueError):
        dialect_for("smpp", {"id_format": "base64"})
    with pytest.raises(ValueError, match="no simulator"):
        dialect_for("carrier-pigeon")


@pytest.mark.parametrize(
    "item",
    [
        Receipt("0000001A2B", "1069000", "13900000001", "DELIVRD", "000", 1.7e9, 1.7e9 + 0.2, "Hello"),
        Receipt("0000001A2C", "1069000", "13900000007", "UNDELIV", "005", 1.7e9, 1.7e9 + 60, "您好"),
        Receipt("x" * 70, "1069000", "13900000001", "EXPIRED", "003", 1.7e9, 1.7e9, "long id"),
        Receipt("0000001A2D", "1" * 25, "13900000001", "REJECTD", "008", 1.7e9, 1.7e9, "long source"),
        Receipt("0000001A2E", "1069000", "13900000001", "ENROUTE", "000", 1.7e9, 1.7e9, "%s" * 200),
        MoPart("13900139000", "1069", "你".encode("utf-16-be"), TextEncoding.UCS2, False),
    ],
)
def test_deliver_frames_are_the_encoded_delivers(item: Outgoing) -> None:
    dialect = dialect_for("smpp")
    try:
        pdu = dialect.deliver(41, item)
        expected: object = (dialect.key(pdu), dialect.encode(pdu))
    except ValueError as error:
        expected = str(error)
    try:
        assert dialect.deliver_frame(41, item) == expected
    except ValueError as error:
        assert str(error) == expected


@pytest.mark.parametrize("status", list(SubmitStatus))
@pytest.mark.parametrize("message_id", ["", "0000001A2B", "é"])
@pytest.mark.parametrize("submit", [SubmitSm(sequence=3), DataSm(sequence=4)])
def test_submit_response_frames_are_the_encoded_responses(
    submit: SubmitSm | DataSm, message_id: str, status: SubmitStatus
) -> None:
    dialect = dialect_for("smpp")
    expected = dialect.encode(dialect.submit_response(submit, message_id, status))
    assert dialect.submit_response_frame(submit, message_id, status) == expected
