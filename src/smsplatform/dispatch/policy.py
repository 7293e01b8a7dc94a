"""How hard the dispatcher works and how patiently it retries, as the composition root sets it."""

from __future__ import annotations

from dataclasses import dataclass

from smsplatform.domain.expiry import DEFAULT_MAX_AGES, RECEIPT_TIMEOUT, MaxAges


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """Tuning knobs; the defaults suit one SQLite-backed process and a few connectors."""

    batch_size: int = 500  # messages per claim
    max_in_flight: int = 4000  # claimed and not yet recorded, over all connectors
    poll_interval: float = 1.0  # seconds between claims when nobody wakes the dispatcher
    # A claim's lease, renewed while its dispatcher lives: a dead dispatcher's claims come back this
    # long after it died.
    lease_seconds: int = 30
    retry_base: float = 1.0  # first retry delay after a transient error, doubling per attempt
    retry_cap: float = 300.0  # longest retry delay
    # Seconds a message of each kind may wait to be submitted (sub-accounts may override them): past
    # it, the message is not sent but fails, refunded, with an EXPIRED report.
    max_ages: MaxAges = DEFAULT_MAX_AGES
    # Seconds a submitted message waits for its status report before it ends `unknown`, with an
    # UNKNOWN report (a connector's `receipt_timeout` option overrides it for its messages).
    receipt_timeout: int = RECEIPT_TIMEOUT
    housekeeping_interval: float = 1.0  # seconds between lease renewals, requeues and receipt rematches
    unmatched_receipt_ttl: int = 3 * 24 * 3600  # kept receipts that never found their part are dropped
    stop_grace: float = 5.0  # how long stop() lets in-flight submits finish before stopping the links
    # Items per write. Every write holds the store's one writer: short ones keep the receipts' round
    # trip short, and the SMSC sends only a window of receipts at a time, each batch after the last's ack.
    result_batch: int = 500  # submit results
    inflow_batch: int = 1000  # receipts or replies
    # Seconds a write waits for more items when nothing outside waits on it: results, and receipts
    # already journaled. Receipts acknowledged only once stored never wait: the SMSC waits on them.
    linger: float = 0.05

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next try of a message that failed transiently on its `attempts`-th try."""
        exponent = max(0, attempts - 1)
        if exponent >= 32:  # 2**32 seconds is past any cap; avoid float overflow for silly counts
            return self.retry_cap
        return float(min(self.retry_cap, self.retry_base * 2.0**exponent))
