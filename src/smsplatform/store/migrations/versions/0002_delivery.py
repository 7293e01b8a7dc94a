"""Delivery: message parts, inbound replies, the callbacks outbox, connectors and routes.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_parts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("part", sa.SmallInteger, nullable=False),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("stat", sa.String(16), nullable=False, server_default=""),
    )
    op.create_index("ix_message_parts_message_id", "message_parts", ["message_id"])
    op.create_index("ix_message_parts_remote_id", "message_parts", ["remote_id"])
    op.create_table(
        "inbound",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, nullable=True),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("destination", sa.String(32), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_inbound_account_id", "inbound", ["account_id"])
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("done_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_callbacks_state_next", "callbacks", ["state", "next_attempt_at"])
    op.create_table(
        "connectors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("system_id", sa.String(64), nullable=False),
        sa.Column("password", sa.String(64), nullable=False),
        sa.Column("window", sa.Integer, nullable=False, server_default="16"),
        sa.Column("tps", sa.Integer, nullable=True),
        sa.Column("source_number", sa.String(21), nullable=False, server_default=""),
        sa.Column("carriers", sa.String(100), nullable=False, server_default=""),
        sa.Column("options", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "routes",
        sa.Column("carrier", sa.String(16), primary_key=True),
        sa.Column("position", sa.SmallInteger, primary_key=True),
        sa.Column("connector", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("routes", "connectors", "callbacks", "inbound", "message_parts"):
        op.drop_table(table)
