"""Customers, sub-accounts, templates, sends and the message outbox, word list, routing tables.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("appkey", sa.String(64), nullable=False),
        sa.Column("totalnum", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("allow_ips", sa.Text, nullable=False, server_default=""),
        sa.Column("daily_request_limit", sa.Integer, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("appkey", name="uq_customers_appkey"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer,
            sa.ForeignKey("customers.id", name="fk_accounts_customer_id_customers"),
            nullable=False,
        ),
        sa.Column("company", sa.String(200), nullable=False),
        sa.Column("signature", sa.String(40), nullable=False),
        sa.Column("statusurl", sa.String(500), nullable=False, server_default=""),
        sa.Column("replyurl", sa.String(500), nullable=False, server_default=""),
        sa.Column("replyusername", sa.String(100), nullable=False, server_default=""),
        sa.Column("replypassword", sa.String(100), nullable=False, server_default=""),
        sa.Column("totalnum", sa.BigInteger, nullable=False),
        sa.Column("usednum", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("istemnocheck", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("failreason", sa.String(500), nullable=False, server_default=""),
        sa.Column("extension", sa.String(12), nullable=False),
        sa.Column("freq_limits", sa.Text, nullable=False, server_default="{}"),
        sa.Column("addtime", sa.BigInteger, nullable=False),
        sa.CheckConstraint("usednum <= totalnum", name="ck_accounts_quota"),
        sa.UniqueConstraint("signature", name="uq_accounts_signature"),
        sa.UniqueConstraint("extension", name="uq_accounts_extension"),
    )
    op.create_index("ix_accounts_customer_id", "accounts", ["customer_id"])
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", name="fk_templates_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("ismarket", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("failreason", sa.String(500), nullable=False, server_default=""),
        sa.Column("addtime", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("account_id", "name", name="uq_templates_account_id_name"),
    )
    op.create_table(
        "sends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer,
            sa.ForeignKey("customers.id", name="fk_sends_customer_id_customers"),
            nullable=False,
        ),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", name="fk_sends_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("fee", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("customer_id", "request_id", name="uq_sends_customer_id_request_id"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "send_id", sa.Integer, sa.ForeignKey("sends.id", name="fk_messages_send_id_sends"), nullable=False
        ),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("segments", sa.SmallInteger, nullable=False),
        sa.Column("carrier", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger, nullable=True),
        sa.Column("connector", sa.String(64), nullable=True),
        sa.Column("stat", sa.String(16), nullable=False, server_default=""),
        sa.Column("errcode", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("submitted_at", sa.BigInteger, nullable=True),
        sa.Column("done_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_messages_send_id", "messages", ["send_id"])
    op.create_index("ix_messages_state_next", "messages", ["state", "next_attempt_at"])
    op.create_index("ix_messages_account_mobile", "messages", ["account_id", "mobile"])
    op.create_table(
        "blackwords",
        sa.Column("word", sa.String(100), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "optouts",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("mobile", sa.String(20), primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "carrier_prefixes",
        sa.Column("prefix", sa.String(8), primary_key=True),
        sa.Column("carrier", sa.String(16), nullable=False),
    )
    op.create_table(
        "number_pins",
        sa.Column("mobile", sa.String(20), primary_key=True),
        sa.Column("carrier", sa.String(16), nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "settings",
        "number_pins",
        "carrier_prefixes",
        "optouts",
        "blackwords",
        "messages",
        "sends",
        "templates",
        "accounts",
        "customers",
    ):
        op.drop_table(table)
