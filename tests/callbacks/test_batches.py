"""What one POST carries: up to 100 reports of one sub-account as an array, or one reply as an object."""

from __future__ import annotations

import json

from smsplatform.callbacks.batches import Batch, Lane
from smsplatform.store.callbacks import REPLY, REPORT, DueCallback


def due(n: int, kind: str = REPORT, account_id: int = 1, url: str = "https://a.example/cb") -> DueCallback:
    payload = json.dumps(
        {"reportid" if kind == REPORT else "replyid": str(n), "content": "你好"}, ensure_ascii=False
    )
    return DueCallback(n, account_id, kind, payload, 1, 0, url, "", "", f"key{account_id}")


def test_reports_are_joined_into_an_array_as_stored() -> None:
    lane = Lane((1, REPORT), report_limit=3)
    for n in range(7):
        lane.add(due(n))
    assert [batch.ids for batch in lane.waiting] == [[0, 1, 2], [3, 4, 5], [6]]
    body = lane.waiting[0].body()
    assert json.loads(body) == [json.loads(due(n).payload) for n in range(3)]
    assert "你好".encode() in body  # UTF-8, not \\u escapes


def test_a_reply_travels_alone_as_an_object() -> None:
    lane = Lane((1, REPLY))
    for n in range(2):
        lane.add(due(n, REPLY))
    assert [batch.ids for batch in lane.waiting] == [[0], [1]]
    assert json.loads(lane.waiting[0].body()) == json.loads(due(0, REPLY).payload)


def test_a_changed_url_or_key_starts_a_new_batch() -> None:
    lane = Lane((1, REPORT))
    lane.add(due(0))
    lane.add(due(1, url="https://b.example/cb"))  # the customer changed the statusurl meanwhile
    lane.add(due(2, url="https://b.example/cb")._replace(appkey="rotated"))
    assert [(batch.url, batch.appkey, batch.ids) for batch in lane.waiting] == [
        ("https://a.example/cb", "key1", [0]),
        ("https://b.example/cb", "key1", [1]),
        ("https://b.example/cb", "rotated", [2]),
    ]


def test_a_batch_already_sent_takes_no_more() -> None:
    lane = Lane((1, REPORT))
    lane.add(due(0))
    sent = lane.waiting.popleft()
    lane.add(due(1))
    assert sent.ids == [0] and [b.ids for b in lane.waiting] == [[1]]


def test_batch_of_one() -> None:
    batch = Batch.starting_with(due(5))
    assert (batch.url, batch.kind, batch.ids) == ("https://a.example/cb", REPORT, [5])


def test_a_full_lane_turns_items_away_until_a_batch_leaves() -> None:
    lane = Lane((1, REPORT), report_limit=2, refill_at=1)
    accepted = [lane.add(due(n), max_batches=2) for n in range(4)]
    assert accepted == [True, True, True, True]  # two full batches
    assert not lane.add(due(4), max_batches=2)
    assert [b.ids for b in lane.waiting] == [[0, 1], [2, 3]]
    assert lane.holds_back()  # more than `refill_at` batches wait
    lane.waiting.popleft()  # sent: room again
    assert not lane.holds_back()
    assert lane.add(due(5), max_batches=2)
    assert [b.ids for b in lane.waiting] == [[2, 3], [5]]
