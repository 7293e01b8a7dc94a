"""Keeping the store within `retention_days`: messages, their reports, replies and callbacks older than
that leave in bounded steps, so the tables stop growing and no step holds the writer for long."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from smsplatform.store.database import Database
from smsplatform.store.retention import purge

log = logging.getLogger(__name__)

# A round every few minutes: a day's partition is made a week ahead and dropped a day late at most,
# and the chunked deletes of a round cover what aged in the minutes since the last.
ROUND_EVERY = 300.0


async def keep_within_retention(
    db: Database,
    days: int,
    *,
    every: float = ROUND_EVERY,
    clock: Callable[[], float] = time.time,
) -> None:
    """Runs until cancelled: a round at once, then one every `every` seconds. `days` 0 keeps
    everything (on PostgreSQL the partitions ahead are still made)."""
    while True:
        try:
            done = await purge(db, days, int(clock()))
        except Exception:
            log.exception("the retention round failed; the next one tries again")
        else:
            if done.messages or done.rows or done.partitions_dropped or done.partitions_created:
                log.info(
                    "retention: %d messages removed, %s; partitions dropped %s, created %s",
                    done.messages,
                    ", ".join(f"{n} {table}" for table, n in done.rows.items() if n) or "no other rows",
                    done.partitions_dropped or "none",
                    done.partitions_created or "none",
                )
        await asyncio.sleep(every)
