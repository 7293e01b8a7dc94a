"""PostgreSQL planner statistics for tables that filled before autovacuum first analysed them.

Without statistics the planner takes an equality on a column to match 0.5% of the rows: a lookup of
16 status reports by their SMSC ids (`message_parts.remote_id`) is then planned as a scan of the
whole table, and a prepared statement keeps that plan. A fresh database fills in seconds, and so does
each new day's message partition, while autovacuum looks at a database once a minute
(`autovacuum_naptime`): measured end to end from an empty outbox (bench/scale_out.py, 30,000
messages), the receipt lookup then took 1.8 to 5.7 ms a batch of 16 instead of 0.15 to 0.19 ms, a
fifth to three fifths of the server's time.

So the platform analyses, once, each of its tables that has seen `MIN_CHANGES` rows written and was
never analysed; from then on autovacuum keeps the statistics current. An ANALYZE also invalidates the
plans that every connection prepared on the table, which are then made again with the statistics.
"""

from __future__ import annotations

import sqlalchemy as sa

MIN_CHANGES = 1000  # rows written before a table without statistics is analysed
# One node at a time looks (any fixed number: the platform's own); the others skip the round.
LOCK = 0x736D_7373_7461  # "smssta"

_UNSEEN = (
    "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables"
    " WHERE last_analyze IS NULL AND last_autoanalyze IS NULL AND n_mod_since_analyze >= %s"
    " ORDER BY n_mod_since_analyze DESC"
)


def analyze_unseen(conn: sa.Connection, min_changes: int = MIN_CHANGES) -> list[str]:
    """Analyse the tables that have seen `min_changes` rows written and were never analysed; returns
    their names. `conn` must be in autocommit, so that each ANALYZE ends at once; nothing is done when
    another node holds the round's lock."""
    if not conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (LOCK,)).scalar():
        return []
    try:
        tables = list(conn.exec_driver_sql(_UNSEEN, (min_changes,)).scalars())
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")
        return tables
    finally:
        conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (LOCK,))
