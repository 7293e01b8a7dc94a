"""What a session tells its WireLog, and when; and an SMSC that unbinds with our submits on the wire."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from smsplatform.connectors.adapter import SegmentAnswer
from smsplatform.connectors.model import OutboundSms
from smsplatform.protocols.link.core import Event, LateResponse, Response
from smsplatform.simulator.server import SmscServer
from tests.connectors.conftest import ConnectorFactory, eventually
from tests.connectors.fake_protocol import DELIVER, RESPONSE, UNBIND, Frame, encode

LONG = "x" * 400  # several segments of the toy protocol


def sms(key: int, text: str = "hello") -> OutboundSms:
    return OutboundSms(key=key, source="10690001", destination="13800138000", text=text)


class Recorder:
    """A WireLog that keeps every note, and which of them were flushed."""

    def __init__(self) -> None:
        self.notes: list[tuple[Any, ...]] = []
        self.flushed = 0

    def written(self, connector: str, key: int, segment: int, segments: int) -> None:
        self.notes.append(("W", connector, key, segment, segments))

    def answered(self, connector: str, key: int, segment: int, answer: SegmentAnswer) -> None:
        self.notes.append(("A", connector, key, segment, answer.ok, answer.remote_id))

    def flush(self) -> None:
        self.flushed = len(self.notes)


@pytest.mark.parametrize("tps", [None, 1000.0], ids=["unpaced", "rate-capped"])
async def test_each_segment_is_noted_before_the_smsc_can_see_it_and_as_it_is_answered(
    smsc: SmscServer[Any], connect: ConnectorFactory, tps: float | None
) -> None:
    link = await connect(tps=tps)
    log = Recorder()
    seen_flushed: list[bool] = []
    on_submit = smsc.on_submit

    def check_then_take(session: Any, pdu: Any) -> None:
        # By the time the SMSC reads a segment, the note that it was written is flushed.
        flushed = sum(1 for note in log.notes[: log.flushed] if note[0] == "W")
        seen_flushed.append(flushed > smsc.counters.submits)
        on_submit(session, pdu)

    smsc.on_submit = check_then_take  # type: ignore[method-assign]
    short = await link.submit(sms(1), log)
    long = await link.submit(sms(2, LONG), log)

    segments = len(long.remote_ids)
    assert short.ok and long.ok and segments > 1
    written = [n for n in log.notes if n[0] == "W"]
    answered = [n for n in log.notes if n[0] == "A"]
    parts = range(1, segments + 1)
    assert written == [("W", "fake-link", 1, 1, 1), *(("W", "fake-link", 2, i, segments) for i in parts)]
    ids = (*short.remote_ids, *long.remote_ids)
    assert [(n[2], n[3], n[5]) for n in answered] == [(1, 1, ids[0]), *((2, i, ids[i]) for i in parts)]
    assert seen_flushed == [True] * (1 + segments)


async def test_an_unbinding_smsc_gets_its_answer_once_our_submits_are_answered(
    smsc: SmscServer[Any], connect: ConnectorFactory
) -> None:
    link = await connect(unbind_wait=2.0, window=2)
    smsc.slow_responses(0.3)
    pending = [asyncio.create_task(link.submit(sms(i))) for i in range(3)]  # the third waits for a slot
    await eventually(lambda: link.stats().in_flight == 2)
    peer = next(iter(smsc.sessions))
    frames: list[Frame] = []
    original = peer._handle

    def handle(event: Event) -> None:
        if isinstance(event, (Response, LateResponse)):  # what the connector answered
            frames.append(event.pdu)
        original(event)

    peer._handle = handle  # type: ignore[method-assign]

    peer.write(encode(Frame(UNBIND, 500, 0)))

    results = await asyncio.gather(*pending)
    assert all(r.ok and not r.maybe_sent for r in results)  # answered, hence not sent again
    # The one waiting for a slot left on the next session; this one answered the unbind, and took
    # the reports that came meanwhile.
    assert [f.command for f in frames if f.command not in (DELIVER | RESPONSE,)] == [UNBIND | RESPONSE]
    assert frames[-1].sequence == 500
    assert smsc.counters.submits == 3
    assert link.stats().reconnects == 1


async def test_the_unbind_wait_is_bounded(smsc: SmscServer[Any], connect: ConnectorFactory) -> None:
    link = await connect(unbind_wait=0.1, response_timeout=5.0)
    smsc.slow_responses(3.0)
    pending = asyncio.create_task(link.submit(sms(1)))
    await eventually(lambda: link.stats().in_flight == 1)
    began = time.monotonic()

    next(iter(smsc.sessions)).write(encode(Frame(UNBIND, 500, 0)))

    result = await pending
    assert (result.ok, result.maybe_sent, result.error) == (False, True, "link lost")
    assert time.monotonic() - began < 1.5
