"""The protocol-neutral SMSC core, driven over a socket with the toy protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from smsplatform.simulator.rules import LastDigitRule
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import eventually
from tests.connectors.fake_protocol import (
    BAD_LOGIN,
    BIND,
    DELIVER,
    HEADER,
    NACK,
    RESPONSE,
    RETRY,
    SUBMIT,
    THROTTLED,
    FakeDialect,
    Frame,
    Reader,
    encode,
)


class Client:
    """A hand-driven ESME: sends frames, reads frames, acknowledges nothing by itself."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.frames = reader, writer, Reader()
        self.sequence = 0

    @classmethod
    async def connect(cls, server: SmscServer[Any]) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", server.port))

    def send(self, command: int, body: bytes = b"", status: int = 0, sequence: int | None = None) -> int:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        self.writer.write(encode(Frame(command, sequence, status, body)))
        return sequence

    async def receive(self) -> Frame:
        while (frame := self.frames.next_pdu()) is None:
            data = await asyncio.wait_for(self.reader.read(65536), 2.0)
            if not data:
                raise ConnectionError("closed")
            self.frames.receive_data(data)
        return frame

    async def bind(self, role: bytes = b"trx", password: bytes = b"pw") -> Frame:
        self.send(BIND, b"esme\0" + password + b"\0" + role)
        return await self.receive()

    async def submit(self, destination: str = "13800138000", text: str = "hi", receipt: bool = True) -> Frame:
        flag = b"1" if receipt else b"0"
        self.send(
            SUBMIT, b"1069\0" + destination.encode() + b"\0" + flag + b"\x000\0" + text.encode("utf-16-be")
        )
        return await self.receive()

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def smsc() -> AsyncIterator[SmscServer[Any]]:
    server = SmscServer(FakeDialect(), {"esme": "pw"}, LastDigitRule(delay=0.0), redeliver_delay=0.02)
    await server.start()
    yield server
    await server.close()


async def test_wrong_password_is_refused_and_closed(smsc: SmscServer[Any]) -> None:
    client = await Client.connect(smsc)
    assert (await client.bind(password=b"guess")).status == BAD_LOGIN
    with pytest.raises(ConnectionError):
        await client.receive()
    client.close()
    assert (smsc.counters.bind_failures, smsc.counters.binds) == (1, 0)


async def test_second_bind_and_submit_before_bind_are_refused(smsc: SmscServer[Any]) -> None:
    client = await Client.connect(smsc)
    assert (await client.submit()).status != 0
    assert (await client.bind()).status == 0
    assert (await client.bind()).status != 0
    assert smsc.counters.submits == 0
    client.close()


async def test_receipts_wait_for_a_receiver_and_survive_its_loss(smsc: SmscServer[Any]) -> None:
    sender = await Client.connect(smsc)
    await sender.bind(b"tx")
    answer = await sender.submit(destination="13800138008")
    message_id = answer.body.decode()
    await eventually(lambda: smsc.pending_delivers("esme") == 1)  # due, and no receiver yet

    first = await Client.connect(smsc)
    await first.bind(b"rx")
    receipt = await first.receive()
    assert (
        receipt.command == DELIVER
        and receipt.body == f"R{message_id}\0EXPIRED\x00003\x0013800138008".encode()
    )
    first.close()  # gone without acknowledging

    second = await Client.connect(smsc)
    await second.bind(b"rx")
    again = await second.receive()
    assert again.body == receipt.body
    second.send(DELIVER | RESPONSE, status=RETRY, sequence=again.sequence)  # "not now"
    third_try = await second.receive()
    assert third_try.body == receipt.body
    second.send(DELIVER | RESPONSE, sequence=third_try.sequence)
    await eventually(lambda: smsc.counters.receipts_acked == 1)
    assert smsc.pending_delivers("esme") == 0
    sender.close()
    second.close()


async def test_mo_waits_for_the_account(smsc: SmscServer[Any]) -> None:
    assert smsc.inject_mo("13900139000", "1069", "hi") == "esme"
    client = await Client.connect(smsc)
    await client.bind()
    mo = await client.receive()
    assert mo.body == b"M13900139000\x001069\x000\x00" + "hi".encode("utf-16-be")
    client.close()


async def test_throttle_and_dropped_responses(smsc: SmscServer[Any]) -> None:
    client = await Client.connect(smsc)
    await client.bind()
    smsc.throttle(1)
    assert (await client.submit(receipt=False)).status == THROTTLED
    smsc.drop_responses(1.0)
    client.send(SUBMIT, b"1069\x0013800138000\x000\x000\x00" + "x".encode("utf-16-be"))
    await eventually(lambda: smsc.counters.dropped_responses == 1)
    smsc.clear_faults()
    answer = await client.submit(receipt=False)  # the next answer is for this one, not the dropped one
    assert answer.status == 0 and answer.sequence == client.sequence
    assert (smsc.counters.throttled, smsc.counters.dropped_responses, smsc.counters.submits) == (1, 1, 2)
    assert [m.text for m in smsc.received] == ["x", "hi"]
    client.close()


async def test_counters_only_when_not_recording() -> None:
    server = SmscServer(FakeDialect(), {"esme": "pw"}, record=False)
    await server.start()
    try:
        client = await Client.connect(server)
        await client.bind()
        await client.submit(receipt=False)
        assert server.received == [] and (server.counters.messages, server.counters.submits) == (1, 1)
        client.close()
    finally:
        await server.close()


async def test_malformed_pdus(smsc: SmscServer[Any]) -> None:
    client = await Client.connect(smsc)
    client.writer.write(HEADER.pack(HEADER.size, 0x42, 9, 0))  # framed, unknown command
    nack = await client.receive()
    assert (nack.command, nack.sequence) == (NACK, 9)
    client.writer.write(b"\x00\x00\x00\x01")  # framing lost: a last error answer, then closed
    assert (await client.receive()).command == NACK
    with pytest.raises(ConnectionError):
        await client.receive()
    client.close()


async def test_simulators_with_one_first_id_issue_the_same_ids() -> None:
    servers = [SmscServer(FakeDialect(), {"esme": "pw"}, first_id=41) for _ in range(2)]
    ids = []
    for server in servers:
        await server.start()
        try:
            client = await Client.connect(server)
            await client.bind()
            ids.append([(await client.submit(receipt=False)).body.decode() for _ in range(2)])
            client.close()
        finally:
            await server.close()
    assert ids == [["00000029", "0000002A"]] * 2  # 41 and 42, as FakeDialect spells them


async def test_reports_first_answers_a_submit_only_once_its_receipt_was_answered() -> None:
    server = SmscServer(FakeDialect(), {"esme": "pw"}, LastDigitRule(delay=30.0), reports_first=True)
    await server.start()
    try:
        client = await Client.connect(server)
        await client.bind()
        submit = client.send(
            SUBMIT, b"1069\x0013800138007\x001\x000\x00" + "hi".encode("utf-16-be")
        )  # fmt: skip
        receipt = await client.receive()  # at once, not after the rule's 30 seconds
        assert receipt.command == DELIVER and receipt.body.endswith(b"\0UNDELIV\x00005\x0013800138007")
        assert server.counters.responses_after_report == 0
        client.send(DELIVER | RESPONSE, sequence=receipt.sequence)
        answer = await client.receive()
        assert (answer.command, answer.sequence, answer.status) == (SUBMIT | RESPONSE, submit, 0)
        assert receipt.body.startswith(b"R" + answer.body + b"\0")  # the receipt named this submit's id
        assert server.counters.responses_after_report == 1
        # Without a receipt the answer comes at once.
        assert (await client.submit(receipt=False)).status == 0
        client.close()
    finally:
        await server.close()
