"""Every state change the store makes is one the message state machine allows, and each move the
machine lists is one the store makes: a database trigger records each change while the outbox's units
of work run, on both backends."""

from __future__ import annotations

from smsplatform.domain.message_states import REJECTED, TRANSITIONS, may_move
from smsplatform.domain.submit_outcomes import Failed, Retry, Submitted
from smsplatform.store.claims import JournaledClaims, claim, give_back_claims, release_leases, requeue_expired
from smsplatform.store.database import Database
from smsplatform.store.expiry import time_out_receipts
from smsplatform.store.receipts import ReceiptIn, apply_receipts
from smsplatform.store.results import record_results
from tests.dispatch.support import make_account, message, queue, run

ME = "dispatcher-a"
OTHER = "dispatcher-b"

_SQLITE_TRIGGER = (
    "CREATE TABLE state_changes (message_id INTEGER, before TEXT, after TEXT)",
    "CREATE TRIGGER record_state_change AFTER UPDATE OF state ON messages"
    " WHEN OLD.state IS NOT NEW.state"
    " BEGIN INSERT INTO state_changes VALUES (NEW.id, OLD.state, NEW.state); END",
)
_POSTGRES_TRIGGER = (
    "CREATE TABLE state_changes (message_id BIGINT, before TEXT, after TEXT)",
    "CREATE FUNCTION record_state_change() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN INSERT INTO state_changes VALUES (NEW.id, OLD.state, NEW.state); RETURN NEW; END $$",
    "CREATE TRIGGER record_state_change AFTER UPDATE OF state ON messages FOR EACH ROW"
    " WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION record_state_change()",
)


def record_state_changes(db: Database) -> None:
    statements = _POSTGRES_TRIGGER if db.engine.dialect.name == "postgresql" else _SQLITE_TRIGGER
    with db.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def state_changes(db: Database) -> set[tuple[str, str]]:
    with db.engine.connect() as conn:
        return {
            (before, after)
            for before, after in conn.exec_driver_sql("SELECT before, after FROM state_changes")
        }


def test_the_store_makes_exactly_the_moves_the_state_machine_allows(db: Database) -> None:
    record_state_changes(db)
    account = make_account(db)
    ids = queue(db, account, [f"139{n:08d}" for n in range(12)], now=1_000)

    assert len(run(db, claim, ME, 1_001, 100, 30)) == 12
    outcomes = [
        Retry(ids[0], 1_005, "throttled"),
        Failed(ids[1], "gave up"),
        Failed(ids[2], "refused", state=REJECTED),
        *(Submitted(i, "smsc-1", (f"r{i}",)) for i in ids[3:9]),
    ]
    run(db, record_results, ME, outcomes, 1_010)
    words = {ids[3]: "DELIVRD", ids[4]: "UNDELIV", ids[5]: "EXPIRED", ids[6]: "REJECTD"}
    receipts = [ReceiptIn("smsc-1", f"r{i}", stat) for i, stat in words.items()]
    assert run(db, apply_receipts, receipts, 1_020).finished == 4
    assert run(db, time_out_receipts, 1_100, 50, {}) == 2  # ids[7] and ids[8]: no report came

    assert run(db, requeue_expired, 1_200) == 3  # ids[9:12]: the lease ran out
    run(db, record_results, ME, [Submitted(ids[9], "smsc-1", ("late",))], 1_201)  # the SMSC had it
    assert len(run(db, claim, ME, 1_300, 100, 30)) == 3  # ids[0], ids[10], ids[11]
    assert run(db, release_leases, ME, 1_301) == 3
    assert len(run(db, claim, OTHER, 1_400, 100, 30)) == 3
    journal = JournaledClaims(OTHER, answered={}, on_the_wire={ids[11]: 3})
    assert run(db, give_back_claims, journal, 1_500).maybe_sent == 1

    assert message(db, ids[9]).state == "submitted"
    made = state_changes(db)
    assert {move for move in made if not may_move(*move)} == set()
    allowed = {(before.value, after.value) for before, afters in TRANSITIONS.items() for after in afters}
    assert made == allowed
