"""Secrets at rest: columns for the sealed appkeys, reply passwords and connector secrets, the appkey's
lookup hash, the appkey kept through a rotation's grace period, and the secret key's fingerprint.

Only the columns: sealing needs the secret key, which the migration never sees. The plain values stay
where they are until the platform's first start with its key seals them (store/secrets.seal_plaintext)
and clears them. The appkey column becomes `appkey_hash` (its unique constraint keeps its name): it
holds the appkey until then, the appkey's keyed hash after.

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain rename on both backends: no copy of the table, which other tables' foreign keys name.
    op.execute("ALTER TABLE customers RENAME COLUMN appkey TO appkey_hash")
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("appkey_sealed", sa.Text, nullable=True))
        batch.add_column(sa.Column("previous_appkey_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("previous_appkey_sealed", sa.Text, nullable=True))
        batch.add_column(sa.Column("previous_appkey_until", sa.BigInteger, nullable=True))
    op.create_index("ix_customers_previous_appkey_hash", "customers", ["previous_appkey_hash"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("replypassword_sealed", sa.Text, nullable=True))
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("secrets_sealed", sa.Text, nullable=True))
    op.create_table(
        "secret_key",
        sa.Column("id", sa.SmallInteger, autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_secret_key"),
    )


def downgrade() -> None:
    # Sealed values cannot go back without the key: a downgrade keeps only what is still in plain.
    op.drop_table("secret_key")
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("secrets_sealed")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("replypassword_sealed")
    op.drop_index("ix_customers_previous_appkey_hash", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("previous_appkey_until")
        batch.drop_column("previous_appkey_sealed")
        batch.drop_column("previous_appkey_hash")
        batch.drop_column("appkey_sealed")
    op.execute("ALTER TABLE customers RENAME COLUMN appkey_hash TO appkey")
