"""Receipts kept for their part are keyed by connector and remember the number they name.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unmatched_receipts") as batch:
        batch.add_column(sa.Column("destination", sa.String(20), nullable=False, server_default=""))
        batch.drop_index("ix_unmatched_receipts_remote_id")
        batch.create_index("ix_unmatched_receipts_connector_remote_id", ["connector", "remote_id"])


def downgrade() -> None:
    with op.batch_alter_table("unmatched_receipts") as batch:
        batch.drop_index("ix_unmatched_receipts_connector_remote_id")
        batch.create_index("ix_unmatched_receipts_remote_id", ["remote_id"])
        batch.drop_column("destination")
