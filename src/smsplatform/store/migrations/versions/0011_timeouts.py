"""Messages: a partial index of the submitted ones awaiting their report, for the receipt timeout.

Like the queued and leased indexes, it holds only messages in flight: a message enters it when the
SMSC takes it and leaves it with its final report, so the sweep that ends overdue ones reads nothing
else, however large the table.

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    submitted = sa.text("state = 'submitted'")
    op.create_index(
        "ix_messages_submitted",
        "messages",
        ["connector", "submitted_at"],
        sqlite_where=submitted,
        postgresql_where=submitted,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_submitted", table_name="messages")
