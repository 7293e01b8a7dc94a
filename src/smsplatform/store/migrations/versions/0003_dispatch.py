"""Dispatch: possibly-sent attempts, each part's receipt error, receipts that came before their part.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("maybe_sent", sa.SmallInteger, nullable=False, server_default="0"))
    op.add_column("message_parts", sa.Column("err", sa.String(32), nullable=False, server_default=""))
    op.create_table(
        "unmatched_receipts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=False),
        sa.Column("stat", sa.String(16), nullable=False),
        sa.Column("err", sa.String(32), nullable=False, server_default=""),
        sa.Column("received_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_unmatched_receipts_remote_id", "unmatched_receipts", ["remote_id"])


def downgrade() -> None:
    op.drop_table("unmatched_receipts")
    with op.batch_alter_table("message_parts") as batch:
        batch.drop_column("err")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("maybe_sent")
