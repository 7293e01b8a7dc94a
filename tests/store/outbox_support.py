"""What the tests of the outbox's units of work share: a dispatcher's name, submits and receipts."""

from __future__ import annotations

import sqlalchemy as sa

from smsplatform.domain.submit_outcomes import Submitted
from smsplatform.store.database import Database
from smsplatform.store.receipts import ReceiptIn
from smsplatform.store.results import record_results
from smsplatform.store.schema import submit_errors, unmatched_receipts
from tests.dispatch.support import run

ME = "dispatcher-a"
OTHER = "dispatcher-b"
LONG_TEXT = "长" * 150  # with the signature: 156 characters, three segments


def submit(
    db: Database, message_id: int, *remote_ids: str, connector: str = "smsc-1", now: int = 1_010
) -> None:
    summary = run(db, record_results, ME, [Submitted(message_id, connector, remote_ids)], now)
    assert summary.submitted == 1


def receipt(remote_id: str, stat: str = "DELIVRD", err: str = "000", connector: str = "smsc-1") -> ReceiptIn:
    return ReceiptIn(connector, remote_id, stat, err)


def failed_attempts(db: Database) -> list[tuple[int, int, str, str, str, int]]:
    """submit_errors as (message_id, attempt, connector, outcome, error, at), in the order written."""
    with db.engine.connect() as conn:
        query = sa.select(
            submit_errors.c.message_id,
            submit_errors.c.attempt,
            submit_errors.c.connector,
            submit_errors.c.outcome,
            submit_errors.c.error,
            submit_errors.c.at,
        ).order_by(submit_errors.c.id)
        return [tuple(row) for row in conn.execute(query)]


def unmatched_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(unmatched_receipts)).scalar_one())
