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
    lane = Lane("https://a.example/cb", report_limit=3)
    for n in range(7):
        lane.add(due(n))
    assert [batch.ids for batch in lane.waiting] == [[0, 1, 2], [3, 4, 5], [6]]
    body = lane.waiting[0].body()
    assert json.loads(body) == [json.loads(due(n).payload) for n in range(3)]
    assert "你好".encode() in body  # UTF-8, not \\u escapes


def test_a_reply_travels_alone_as_an_object() -> None:
    lane = Lane("https://a.example/cb")
    for n in range(2):
        lane.add(due(n, REPLY))
    lane.add(due(2))
    assert [batch.ids for batch in lane.waiting] == [[0], [1], [2]]
    assert json.loads(lane.waiting[0].body()) == json.loads(due(0, REPLY).payload)


def test_batches_never_mix_sub_accounts() -> None:
    lane = Lane("https://a.example/cb")
    for n, account in enumerate([1, 1, 2, 2, 1]):
        lane.add(due(n, account_id=account))
    assert [(batch.account_id, batch.appkey, batch.ids) for batch in lane.waiting] == [
        (1, "key1", [0, 1]),
        (2, "key2", [2, 3]),
        (1, "key1", [4]),
    ]


def test_a_batch_already_sent_takes_no_more() -> None:
    lane = Lane("https://a.example/cb")
    lane.add(due(0))
    sent = lane.waiting.popleft()
    lane.add(due(1))
    assert sent.ids == [0] and [b.ids for b in lane.waiting] == [[1]]


def test_batch_of_one() -> None:
    batch = Batch.starting_with(due(5))
    assert (batch.url, batch.kind, batch.ids) == ("https://a.example/cb", REPORT, [5])


def test_a_full_lane_turns_items_away_and_names_whom_to_hold_back() -> None:
    lane = Lane("https://a.example/cb", report_limit=2)
    accepted = [lane.add(due(n, account_id=1), max_batches=2) for n in range(4)]
    assert accepted == [True, True, True, True]  # two full batches
    assert not lane.add(due(4, account_id=1), max_batches=2)
    assert not lane.add(due(5, REPLY, account_id=2), max_batches=2)
    assert [b.ids for b in lane.waiting] == [[0, 1], [2, 3]]
    assert lane.senders_to_hold_back(2) == {(1, REPORT), (2, REPLY)}
    lane.waiting.popleft()  # sent: room again
    assert lane.senders_to_hold_back(2) == set()
    assert lane.add(due(6, REPLY, account_id=2), max_batches=2)
    assert lane.senders_to_hold_back(2) == {(1, REPORT), (2, REPLY)}
