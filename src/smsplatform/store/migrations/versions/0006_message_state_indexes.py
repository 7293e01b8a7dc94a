"""Messages: partial indexes for the two states the dispatcher looks rows up by.

An index over every state moved each message's entry at every step of its life and kept every
finished message in it for good. Only queued messages (claimed by due time) and leased ones (by
owner) are ever looked up by state; those two indexes hold just the messages in flight.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_messages_state_next", table_name="messages")
    queued = sa.text("state = 'queued'")
    leased = sa.text("state = 'submitting'")
    op.create_index(
        "ix_messages_queued",
        "messages",
        ["next_attempt_at", "id"],
        sqlite_where=queued,
        postgresql_where=queued,
    )
    op.create_index(
        "ix_messages_leased", "messages", ["lease_owner"], sqlite_where=leased, postgresql_where=leased
    )


def downgrade() -> None:
    op.drop_index("ix_messages_leased", table_name="messages")
    op.drop_index("ix_messages_queued", table_name="messages")
    op.create_index("ix_messages_state_next", "messages", ["state", "next_attempt_at"])
