"""The receipt journal: durable before the acknowledgement, gone once stored, read back after a crash."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from smsplatform.dispatch.journal import SUFFIX, ReceiptJournal
from smsplatform.store.receipts import ReceiptIn


def receipt(n: int, stat: str = "DELIVRD") -> ReceiptIn:
    return ReceiptIn("sim", f"id{n}", stat, "000")


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_appended_receipts_are_on_disk_until_stored(tmp_path: Path) -> None:
    clock = Clock()
    journal = ReceiptJournal(tmp_path, segment_seconds=1.0, clock=clock)
    assert journal.recover().receipts == []
    stored = await asyncio.gather(*(journal.append(receipt(n)) for n in range(3)))
    [first] = segments(tmp_path)
    assert first.read_text().count('"r":"id') == 3
    assert journal.unstored == 3

    clock.now = 2.0  # the next append starts a new segment; the first goes once all of it is stored
    later = await journal.append(receipt(3))
    assert len(segments(tmp_path)) == 2
    for done in stored:
        done()
    assert segments(tmp_path) != [] and first not in segments(tmp_path)
    later()
    assert journal.unstored == 0
    journal.close()
    assert segments(tmp_path) == []


async def test_a_dead_process_segments_are_read_back_once(tmp_path: Path) -> None:
    dead = tmp_path / f"receipts-999-1{SUFFIX}"
    dead.write_bytes(
        b'{"c":"sim","r":"id1","s":"DELIVRD","e":"000"}\n'
        b'{"c":"sim","r":"id2","s":"UNDELIV","e":"005"}\n'
        b'{"c":"sim","r":"id3","s":"DEL'  # torn by the crash: never acknowledged
    )
    journal = ReceiptJournal(tmp_path)
    recovered = journal.recover()
    assert recovered.receipts == [receipt(1), ReceiptIn("sim", "id2", "UNDELIV", "005")]
    recovered.forget()
    assert segments(tmp_path) == []


async def test_a_live_journal_is_not_taken_by_another(tmp_path: Path) -> None:
    live = ReceiptJournal(tmp_path)
    live.recover()
    await live.append(receipt(1))
    other = ReceiptJournal(tmp_path)
    assert other.recover().receipts == []
    live.close()  # not stored: it stays for the next start
    assert [r.remote_id for r in ReceiptJournal(tmp_path).recover().receipts] == ["id1"]


async def test_too_many_unstored_receipts_hold_the_acknowledgement(tmp_path: Path) -> None:
    journal = ReceiptJournal(tmp_path, max_unstored=2)
    journal.recover()
    first = await journal.append(receipt(1))
    await journal.append(receipt(2))
    third = asyncio.ensure_future(journal.append(receipt(3)))
    # A journal with room, asked after the third was: once it has made two receipts durable, one after
    # the other, the third would have been too, were it not held.
    beside = ReceiptJournal(tmp_path / "beside")
    beside.recover()
    for n in (4, 5):
        (await beside.append(receipt(n)))()
    beside.close()
    assert not third.done()
    assert journal.unstored == 2
    [segment] = segments(tmp_path)
    assert segment.read_text().count('"r":"id') == 2
    first()
    (await asyncio.wait_for(third, 1.0))()
    journal.close()


async def test_a_receipt_comes_back_with_its_connector_and_number(tmp_path: Path) -> None:
    """Both pick its part (store.receipts._match): an id alone may name messages of two SMSCs."""
    sent = ReceiptIn("beta", "0000000001", "REJECTD", "008", destination="8618600200001")
    journal = ReceiptJournal(tmp_path)
    await journal.append(sent)  # acknowledged to the SMSC, never stored: the process dies
    journal.close()
    assert ReceiptJournal(tmp_path).recover().receipts == [sent]


async def test_segments_being_read_back_are_not_read_by_another(tmp_path: Path) -> None:
    (tmp_path / f"receipts-999-1{SUFFIX}").write_bytes(b'{"c":"sim","r":"id1","s":"DELIVRD","e":"000"}\n')
    first = ReceiptJournal(tmp_path).recover()
    assert ReceiptJournal(tmp_path).recover().receipts == []  # a second worker starting meanwhile
    assert [r.remote_id for r in first.receipts] == ["id1"]
    first.forget()
    assert segments(tmp_path) == []


async def test_the_journal_is_readable_by_the_platforms_user_only(tmp_path: Path) -> None:
    directory = tmp_path / "receipts"
    journal = ReceiptJournal(directory)
    journal.recover()
    await journal.append(receipt(1))
    [segment] = segments(directory)
    assert stat.S_IMODE(directory.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(segment.stat().st_mode) & 0o077 == 0
    journal.close()
