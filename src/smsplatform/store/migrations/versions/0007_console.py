"""The operator's console: operators, tokens and the audit log; traffic and latency rollups; the
attempts that failed (submits and callbacks); link health with its reason and since when; message
indexes for search by number and by customer.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_operators_name"),
    )
    op.create_table(
        "operator_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "operator_id",
            sa.Integer,
            sa.ForeignKey("operators.id", name="fk_operator_tokens_operator_id_operators"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False, server_default=""),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_operator_tokens_token_hash"),
    )
    op.create_index("ix_operator_tokens_operator_id", "operator_tokens", ["operator_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False, server_default=""),
        sa.Column("before", sa.Text, nullable=False, server_default=""),
        sa.Column("after", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "traffic_stats",
        sa.Column("period", sa.Integer, primary_key=True),
        sa.Column("start", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.Integer, primary_key=True),
        sa.Column("carrier", sa.String(16), primary_key=True),
        sa.Column("connector", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("writer", sa.Integer, primary_key=True, server_default="0"),
        sa.Column("accepted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("submitted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("delivered", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "latency_stats",
        sa.Column("period", sa.Integer, primary_key=True),
        sa.Column("start", sa.BigInteger, primary_key=True),
        sa.Column("metric", sa.String(8), primary_key=True),
        sa.Column("carrier", sa.String(16), primary_key=True),
        sa.Column("connector", sa.String(64), primary_key=True),
        sa.Column("bucket", sa.SmallInteger, primary_key=True),
        sa.Column("writer", sa.Integer, primary_key=True, server_default="0"),
        sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total_ms", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "submit_errors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("attempt", sa.SmallInteger, nullable=False),
        sa.Column("connector", sa.String(64), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.String(200), nullable=False, server_default=""),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_submit_errors_message_id", "submit_errors", ["message_id"])
    op.create_table(
        "callback_errors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("callback_id", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("error", sa.String(200), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_callback_errors_callback_id", "callback_errors", ["callback_id"])
    with op.batch_alter_table("callbacks") as batch:
        batch.add_column(sa.Column("message_id", sa.Integer, nullable=True))
        batch.create_index("ix_callbacks_message_id", ["message_id"])
    with op.batch_alter_table("connector_stats") as batch:
        batch.add_column(sa.Column("since", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(200), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_error_at", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("binds", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("window", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("submit_rate", sa.Float, nullable=False, server_default="0"))
    op.drop_index("ix_messages_account_mobile", table_name="messages")
    op.create_index("ix_messages_mobile_id", "messages", ["mobile", "id"])
    op.create_index("ix_messages_customer_id", "messages", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_customer_id", table_name="messages")
    op.drop_index("ix_messages_mobile_id", table_name="messages")
    op.create_index("ix_messages_account_mobile", "messages", ["account_id", "mobile"])
    with op.batch_alter_table("connector_stats") as batch:
        for column in ("submit_rate", "window", "binds", "last_error_at", "last_error", "since"):
            batch.drop_column(column)
    with op.batch_alter_table("callbacks") as batch:
        batch.drop_index("ix_callbacks_message_id")
        batch.drop_column("message_id")
    for table in ("callback_errors", "submit_errors", "latency_stats", "traffic_stats", "audit_log"):
        op.drop_table(table)
    op.drop_table("operator_tokens")
    op.drop_table("operators")
