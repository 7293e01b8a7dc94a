"""/messages: search across customers, one message's whole story, a search exported as CSV."""

from __future__ import annotations

from smsplatform.admin import messages
from smsplatform.admin.api.endpoint import CSV, Endpoint

_FILTERS = {
    "msgid": "The send's id: the msgid the customer was answered",
    "mobile": "The number, in any accepted spelling (+86…)",
    "customer_id": "Only this customer's",
    "account_id": "Only this sub-account's",
    "carrier": "mobile, unicom, telecom or broadnet",
    "connector": "Only those sent (or tried) on this connector",
    "state": "queued, submitting, submitted, delivered, undelivered, expired, rejected, failed, unknown",
    "since": "Accepted at or after this unix time",
    "until": "Accepted before this unix time",
}

ENDPOINTS = [
    Endpoint(
        "GET",
        "/messages",
        messages.search,
        "Search messages, newest first",
        description="Page on by passing the answer's `next_before_id` as `before_id`; it is null on the "
        "last page. A page may hold fewer rows than `limit` and still have a next one when matches "
        "are sparse.",
        params={**_FILTERS, "limit": "At most this many rows (1–500)", "before_id": "Where the page starts"},
    ),
    Endpoint(
        "GET",
        "/messages/{message_id}",
        messages.show,
        "One message: content, segments, route, submit attempts, status report, callbacks, timeline",
        params={"message_id": "The message's own id (the status report's reportid)"},
    ),
    Endpoint(
        "GET",
        "/messages.csv",
        messages.stream_csv,
        "A search as CSV, newest first, each message's whole content",
        media_type=CSV,
        params={**_FILTERS, "max_rows": "At most this many rows"},
    ),
]
