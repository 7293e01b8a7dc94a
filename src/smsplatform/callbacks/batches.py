"""What one POST carries, and the queue of POSTs owed by one sender.

Status reports travel as a JSON array of up to 100 items (SPEC §7); a reply travels alone, as one JSON
object. A batch holds items of one sub-account only: each item names its sub-account, the credentials
are the sub-account's and the signature key its customer's. Bodies are the stored payloads joined as
they are: no decoding, no re-encoding.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from smsplatform.store.callbacks import REPORT, DueCallback

MAX_REPORTS_PER_POST = 100


@dataclass(slots=True)
class Batch:
    url: str
    kind: str
    account_id: int
    appkey: str
    username: str
    password: str
    items: list[DueCallback] = field(default_factory=list)
    previous_appkey: str = ""  # the customer's old appkey during a rotation's grace: it signs too

    @classmethod
    def starting_with(cls, item: DueCallback) -> Batch:
        return cls(
            item.url,
            item.kind,
            item.account_id,
            item.appkey,
            item.username,
            item.password,
            [item],
            item.previous_appkey,
        )

    def takes(self, item: DueCallback, limit: int) -> bool:
        return (
            self.kind == REPORT
            and item.kind == REPORT
            and len(self.items) < limit
            and (item.url, item.account_id, item.appkey, item.previous_appkey)
            == (self.url, self.account_id, self.appkey, self.previous_appkey)
        )

    def body(self) -> bytes:
        if self.kind == REPORT:
            return ("[" + ",".join(item.payload for item in self.items) + "]").encode()
        [item] = self.items
        return item.payload.encode()

    @property
    def ids(self) -> list[int]:
        return [item.id for item in self.items]


Sender = tuple[int, str]  # (account_id, kind): whose callbacks, reports or replies


@dataclass(slots=True)
class Lane:
    """The batches owed by one sender (a sub-account's reports, or its replies) that wait to be posted.

    The worker posts up to its cap of a lane's batches at once; `posting` counts those under way and
    `posters` the tasks taking batches from `waiting`.
    """

    sender: Sender
    report_limit: int = MAX_REPORTS_PER_POST
    # The claim takes the sender's rows only while at most this many batches wait (see `holds_back`).
    refill_at: int = 0
    waiting: deque[Batch] = field(default_factory=deque)
    posting: int = 0
    posters: int = 0

    def add(self, item: DueCallback, max_batches: int | None = None) -> bool:
        """Queues `item`, topping up the last batch not yet sent when it can take it; False (and nothing
        queued) when that would make more than `max_batches` batches wait."""
        if self.waiting and self.waiting[-1].takes(item, self.report_limit):
            self.waiting[-1].items.append(item)
        elif max_batches is None or len(self.waiting) < max_batches:
            self.waiting.append(Batch.starting_with(item))
        else:
            return False
        return True

    def holds_back(self) -> bool:
        """Whether the claim should leave this sender's rows out for now: the worker sets `refill_at`
        so that a lane claimed for has room for a whole claim, and no claimed row has to go back."""
        return len(self.waiting) > self.refill_at

    @property
    def idle(self) -> bool:
        return not self.waiting and not self.posters
