"""Connector health per process: several dispatch processes each run a link to every connector.

The table holds only the last few seconds' reports, so it is made again rather than altered.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _create(*key: sa.Column[str]) -> None:
    op.create_table(
        "connector_stats",
        *key,
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.Column("sent", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.Column("reports", sa.BigInteger, nullable=False),
        sa.Column("inbound", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def upgrade() -> None:
    op.drop_table("connector_stats")
    _create(
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("process", sa.String(64), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("connector_stats")
    _create(sa.Column("name", sa.String(64), primary_key=True))
