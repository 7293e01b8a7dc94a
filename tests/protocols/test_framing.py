"""The one length-prefixed reader, as each protocol's PduReader builds on it."""

from __future__ import annotations

import struct

import pytest

from smsplatform.protocols.errors import ProtocolError
from smsplatform.protocols.framing import LengthPrefixedReader


def frame(body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + b"head" + body


def reader(max_frame_size: int = 64) -> LengthPrefixedReader[bytes]:
    return LengthPrefixedReader(
        bytes,
        header_size=8,
        max_frame_size=max_frame_size,
        framing_error=lambda length, low, high: ProtocolError(f"{length} outside {low}..{high}"),
    )


def test_frames_come_out_whole_however_the_stream_is_cut() -> None:
    stream = frame(b"one") + frame(b"") + frame(b"three")
    for cut in range(len(stream) + 1):
        frames = reader()
        received = []
        for chunk in (stream[:cut], stream[cut:]):
            frames.receive_data(chunk)
            while (got := frames.next_pdu()) is not None:
                received.append(got)
        assert received == [frame(b"one"), frame(b""), frame(b"three")]
        assert frames.buffered == 0


def test_many_frames_in_one_read_are_all_returned() -> None:
    frames = reader(max_frame_size=1 << 20)
    body = bytes(1000)
    frames.receive_data(frame(body) * 200)
    assert [frames.next_pdu() for _ in range(200)] == [frame(body)] * 200
    assert frames.next_pdu() is None


@pytest.mark.parametrize("length", [0, 7, 65, 0xFFFFFFFF])
def test_a_length_out_of_bounds_breaks_the_stream_for_good(length: int) -> None:
    frames = reader()
    frames.receive_data(struct.pack(">I", length))
    with pytest.raises(ProtocolError, match=f"{length} outside 8..64"):
        frames.next_pdu()
    frames.receive_data(frame(b"late"))
    assert frames.buffered == 0
    with pytest.raises(ProtocolError):
        frames.next_pdu()


def test_a_frame_that_does_not_decode_is_consumed() -> None:
    def decode(raw: bytes) -> bytes:
        if raw.endswith(b"bad"):
            raise ProtocolError("bad body")
        return raw

    frames = LengthPrefixedReader(
        decode, header_size=8, max_frame_size=64, framing_error=lambda *_: ProtocolError("lost")
    )
    frames.receive_data(frame(b"bad") + frame(b"good"))
    with pytest.raises(ProtocolError, match="bad body"):
        frames.next_pdu()
    assert frames.next_pdu() == frame(b"good")
