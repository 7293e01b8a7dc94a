"""On PostgreSQL the message table is partitioned by day, so that retention drops a day at once and the
table's hot statements cost the same however many days it holds (store/partitions.py).

A message id becomes `day << 32 | sequence` (BIGINT), given by the function `messages_next_id()`;
the columns that name message ids widen to BIGINT. The rows already stored are copied into one
partition, `messages_legacy`, which holds the ids below 2^32 (the range of the epoch's first day), and
today's partition and a week ahead are created.

The partitioned table has no foreign key to `sends`: deleting a send would probe every day partition's
`send_id` index for each row, and the retention deletes sends by the thousand. The platform never
deletes a send whose messages remain (store/retention.py stops at the oldest send still referred to).

On SQLite nothing changes: its message ids stay plain rowids.

Revision ID: 0014
"""

import sqlalchemy as sa
from alembic import op

from smsplatform.store import partitions

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_COLUMNS = (
    "id, send_id, customer_id, account_id, mobile, content, kind, segments, carrier, state, attempts, "
    "next_attempt_at, lease_owner, lease_until, connector, stat, errcode, created_at, submitted_at, "
    "done_at, maybe_sent"
)

_NEXT_ID = """
CREATE OR REPLACE FUNCTION messages_next_id() RETURNS bigint LANGUAGE sql AS $$
    SELECT (floor(extract(epoch FROM now()) / 86400)::bigint << 32)
         | (nextval('messages_day_seq') & 4294967295)
$$
"""

_TABLE = """
CREATE TABLE messages_partitioned (
    id bigint NOT NULL DEFAULT messages_next_id(),
    send_id integer NOT NULL,
    customer_id integer NOT NULL,
    account_id integer NOT NULL,
    mobile varchar(20) NOT NULL,
    content text NOT NULL,
    kind varchar(16) NOT NULL,
    segments smallint NOT NULL,
    carrier varchar(16) NOT NULL,
    state varchar(16) NOT NULL,
    attempts smallint NOT NULL DEFAULT '0',
    next_attempt_at bigint NOT NULL DEFAULT '0',
    lease_owner varchar(64),
    lease_until bigint,
    connector varchar(64),
    stat varchar(16) NOT NULL DEFAULT '',
    errcode varchar(32) NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    submitted_at bigint,
    done_at bigint,
    maybe_sent smallint NOT NULL DEFAULT '0'
) PARTITION BY RANGE (id)
"""

_INDEXES = (
    "ALTER TABLE messages ADD CONSTRAINT pk_messages PRIMARY KEY (id)",
    "CREATE INDEX ix_messages_send_id ON messages (send_id)",
    "CREATE INDEX ix_messages_queued ON messages (next_attempt_at, id) WHERE state = 'queued'",
    "CREATE INDEX ix_messages_leased ON messages (lease_owner) WHERE state = 'submitting'",
    "CREATE INDEX ix_messages_submitted ON messages (connector, submitted_at) WHERE state = 'submitted'",
    "CREATE INDEX ix_messages_mobile_id ON messages (mobile, id)",
    "CREATE INDEX ix_messages_customer_id ON messages (customer_id, id)",
)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
    today = int(conn.exec_driver_sql("SELECT floor(extract(epoch FROM now()) / 86400)::bigint").scalar_one())
    # The sequence counts within a day's range; the legacy ids lie below today's, so it starts at 1.
    conn.exec_driver_sql("CREATE SEQUENCE IF NOT EXISTS messages_day_seq AS bigint")
    conn.exec_driver_sql(_NEXT_ID)
    conn.exec_driver_sql(_TABLE)
    # The ids below the range of the epoch's second day (2^32), or up to the last id stored should there
    # be more: the days since stay free for partitions of their own.
    stored = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM messages").scalar_one())
    top = max(stored, partitions.first_id_of_day(1))
    conn.exec_driver_sql(
        f"CREATE TABLE {partitions.LEGACY} PARTITION OF messages_partitioned "
        f"FOR VALUES FROM (MINVALUE) TO ({top})"
    )
    conn.exec_driver_sql(f"INSERT INTO messages_partitioned ({_COLUMNS}) SELECT {_COLUMNS} FROM messages")
    conn.exec_driver_sql("DROP TABLE messages")  # its serial sequence goes with it
    conn.exec_driver_sql("ALTER TABLE messages_partitioned RENAME TO messages")
    for statement in _INDEXES:
        conn.exec_driver_sql(statement)
    partitions.name_indexes_after_parent(conn, partitions.LEGACY)
    partitions.create_ahead(conn, today)
    for table in ("message_parts", "callbacks", "submit_errors"):
        op.alter_column(table, "message_id", type_=sa.BigInteger, existing_type=sa.Integer)


def downgrade() -> None:
    """Partitioning is not undone: a partitioned table serves every statement the plain one did."""
