"""The tables, as SQLAlchemy Core metadata.

The migrations in `store/migrations/versions` create exactly these; `tests/store/test_migrations.py`
checks that the two never drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Unix seconds everywhere: the API renders times as unix seconds, and integers compare the same way
# on SQLite and PostgreSQL.

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    # The appkey's keyed hash (store/secrets.py), by which the API finds its customer. In a database
    # from before 0012, the appkey itself until the platform's first start with its secret key seals it.
    sa.Column("appkey_hash", sa.String(64), nullable=False),
    sa.Column("appkey_sealed", sa.Text, nullable=True),  # the appkey encrypted: it signs callbacks
    # The appkey before the last rotation, still accepted until `previous_appkey_until` (unix seconds).
    sa.Column("previous_appkey_hash", sa.String(64), nullable=True, index=True),
    sa.Column("previous_appkey_sealed", sa.Text, nullable=True),
    sa.Column("previous_appkey_until", sa.BigInteger, nullable=True),
    sa.Column("totalnum", sa.BigInteger, nullable=False),  # purchased quota, shared out to sub-accounts
    sa.Column("expires_at", sa.BigInteger, nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("allow_ips", sa.Text, nullable=False, server_default=""),  # comma-separated CIDRs; empty: any
    sa.Column("daily_request_limit", sa.Integer, nullable=True),  # code 104; null: unlimited
    sa.Column("created_at", sa.BigInteger, nullable=False),
    # The name it had when the column held the appkey itself (renamed in 0012).
    sa.UniqueConstraint("appkey_hash", name="uq_customers_appkey"),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False, index=True),
    sa.Column("company", sa.String(200), nullable=False),
    sa.Column("signature", sa.String(40), nullable=False, unique=True),
    sa.Column("statusurl", sa.String(500), nullable=False, server_default=""),
    sa.Column("replyurl", sa.String(500), nullable=False, server_default=""),
    sa.Column("replyusername", sa.String(100), nullable=False, server_default=""),
    # Empty once sealed: the password is kept in `replypassword_sealed` (null: none). A database from
    # before 0012 holds it here in plain until the platform's first start with its secret key.
    sa.Column("replypassword", sa.String(100), nullable=False, server_default=""),
    sa.Column("replypassword_sealed", sa.Text, nullable=True),
    sa.Column("totalnum", sa.BigInteger, nullable=False),
    sa.Column("usednum", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("istemnocheck", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("failreason", sa.String(500), nullable=False, server_default=""),
    # Appended to a connector's source number on submit, so that replies find their sub-account.
    sa.Column("extension", sa.String(12), nullable=False, unique=True),
    # Operator overrides of the frequency limits, e.g. {"verification": "4/60,5/3600,8/86400"} as JSON text.
    sa.Column("freq_limits", sa.Text, nullable=False, server_default="{}"),
    # Operator overrides of how long a message of each kind may wait to be submitted before it expires,
    # in seconds, e.g. {"verification": 300} as JSON text.
    sa.Column("max_age", sa.Text, nullable=False, server_default="{}"),
    sa.Column("addtime", sa.BigInteger, nullable=False),
    sa.CheckConstraint("usednum <= totalnum", name="quota"),
)

templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("ismarket", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("failreason", sa.String(500), nullable=False, server_default=""),
    sa.Column("addtime", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("account_id", "name"),
)

sends = sa.Table(
    "sends",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the msgid customers see
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("fee", sa.Integer, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("response", sa.Text, nullable=True),  # the answer replayed for a repeated request_id
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("customer_id", "request_id"),
)

# A message id: on PostgreSQL `day << 32 | sequence`, the table partitioned by day on it (see
# store/partitions.py; the default `messages_next_id()` comes from migration 0014); on SQLite a rowid.
MessageId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", MessageId, primary_key=True),
    sa.Column("send_id", sa.Integer, sa.ForeignKey("sends.id"), nullable=False, index=True),
    sa.Column("customer_id", sa.Integer, nullable=False),
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("mobile", sa.String(20), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("segments", sa.SmallInteger, nullable=False),
    sa.Column("carrier", sa.String(16), nullable=False),
    # queued → submitting → submitted → delivered | undelivered | expired | rejected | failed | unknown
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
    # Attempts whose outcome at the carrier is unknown (response lost, dispatcher died holding the
    # lease): each may have put a duplicate on the carrier's side when the message was retried.
    sa.Column("maybe_sent", sa.SmallInteger, nullable=False, server_default="0"),
    # Only messages in flight are looked up by state: queued ones by due time, leased ones by owner.
    sa.Index(
        "ix_messages_queued",
        "next_attempt_at",
        "id",
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    ),
    sa.Index(
        "ix_messages_leased",
        "lease_owner",
        sqlite_where=sa.text("state = 'submitting'"),
        postgresql_where=sa.text("state = 'submitting'"),
    ),
    # Submitted ones awaiting their report, by connector and age: the receipt timeout's sweep.
    sa.Index(
        "ix_messages_submitted",
        "connector",
        "submitted_at",
        sqlite_where=sa.text("state = 'submitted'"),
        postgresql_where=sa.text("state = 'submitted'"),
    ),
    # A number's messages, newest first, whoever sent them (status queries, the sub-account that last
    # sent to a number, the console's search by number).
    sa.Index("ix_messages_mobile_id", "mobile", "id"),
    # A customer's messages, newest first (the console's search by customer).
    sa.Index("ix_messages_customer_id", "customer_id", "id"),
    postgresql_partition_by="RANGE (id)",
)

blackwords = sa.Table(
    "blackwords",
    metadata,
    sa.Column("word", sa.String(100), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

optouts = sa.Table(
    "optouts",
    metadata,
    sa.Column("account_id", sa.Integer, primary_key=True),
    sa.Column("mobile", sa.String(20), primary_key=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

carrier_prefixes = sa.Table(
    "carrier_prefixes",
    metadata,
    sa.Column("prefix", sa.String(8), primary_key=True),
    sa.Column("carrier", sa.String(16), nullable=False),
)

number_pins = sa.Table(
    "number_pins",
    metadata,
    sa.Column("mobile", sa.String(20), primary_key=True),
    sa.Column("carrier", sa.String(16), nullable=False),
)

# Platform switches the operator flips (maintenance, disabled endpoints) and the configuration version
# that every process polls to drop its caches.
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# --- delivery ---------------------------------------------------------------------------------------

# One row per segment the SMSC acknowledged: receipts carry the SMSC's id, this finds the message.
message_parts = sa.Table(
    "message_parts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", MessageId, nullable=False, index=True),
    sa.Column("part", sa.SmallInteger, nullable=False),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("remote_id", sa.String(64), nullable=False),
    sa.Column("stat", sa.String(16), nullable=False, server_default=""),
    sa.Column("err", sa.String(32), nullable=False, server_default=""),  # the receipt's error code
    sa.Index("ix_message_parts_remote_id", "remote_id"),
)

# Receipts whose part was not recorded yet (the receipt overtook the submit result on its way to the
# store): kept, acknowledged, and applied once a part of their own connector with their id, sent to
# their number, exists. Message ids are unique per SMSC at best, so the connector is part of the key.
unmatched_receipts = sa.Table(
    "unmatched_receipts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("remote_id", sa.String(64), nullable=False),
    sa.Column("stat", sa.String(16), nullable=False),
    sa.Column("err", sa.String(32), nullable=False, server_default=""),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    # The number the receipt names, 11 digits; "" when it named none we could read.
    sa.Column("destination", sa.String(20), nullable=False, server_default=""),
    sa.Index("ix_unmatched_receipts_connector_remote_id", "connector", "remote_id"),
)

# Replies (MO) received from subscribers.
inbound = sa.Table(
    "inbound",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the replyid customers see
    sa.Column("customer_id", sa.Integer, nullable=True),
    sa.Column("account_id", sa.Integer, nullable=True, index=True),
    sa.Column("mobile", sa.String(20), nullable=False),
    sa.Column("destination", sa.String(32), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("received_at", sa.BigInteger, nullable=False),
)

# The callbacks outbox: one row per status report or reply owed to a customer's URL, written in the
# same transaction as the state change it reports.
callbacks = sa.Table(
    "callbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # the reportid / replyid ordering key
    sa.Column("account_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "report" or "reply"
    sa.Column("payload", sa.Text, nullable=False),  # one JSON object, as the customer receives it
    sa.Column("state", sa.String(8), nullable=False),  # pending, done, dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("lease_until", sa.BigInteger, nullable=True),
    sa.Column("last_error", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("done_at", sa.BigInteger, nullable=True),
    # The message a status report is about (none for replies): its page shows the report's attempts.
    sa.Column("message_id", MessageId, nullable=True, index=True),
    sa.Index("ix_callbacks_state_next", "state", "next_attempt_at"),
)

connectors = sa.Table(
    "connectors",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("protocol", sa.String(16), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("system_id", sa.String(64), nullable=False),
    # Empty once sealed (as before 0012 until the first start with the secret key): the password and the
    # secret options (store/secrets.is_secret_option) are kept in `secrets_sealed`, as encrypted JSON.
    sa.Column("password", sa.String(64), nullable=False),
    sa.Column("secrets_sealed", sa.Text, nullable=True),
    sa.Column("window", sa.Integer, nullable=False, server_default="16"),
    sa.Column("tps", sa.Integer, nullable=True),
    sa.Column("source_number", sa.String(21), nullable=False, server_default=""),
    sa.Column("carriers", sa.String(100), nullable=False, server_default=""),  # comma-separated
    sa.Column("options", sa.Text, nullable=False, server_default="{}"),  # protocol extras as JSON, no secret
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# carrier → ordered connectors; the first healthy one carries the traffic, the rest are failover.
routes = sa.Table(
    "routes",
    metadata,
    sa.Column("carrier", sa.String(16), primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("connector", sa.String(64), nullable=False),
)

# What each running connector last reported (written every few seconds by the process that runs it),
# so that `connector list` and the console can show link health from any process.
connector_stats = sa.Table(
    "connector_stats",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("process", sa.String(64), primary_key=True),  # each dispatch process runs its own link
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("in_flight", sa.Integer, nullable=False),
    sa.Column("sent", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("reports", sa.BigInteger, nullable=False),
    sa.Column("inbound", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Since when the link is in its state, and why it last failed (connect, bind, answer).
    sa.Column("since", sa.BigInteger, nullable=True),
    sa.Column("last_error", sa.String(200), nullable=False, server_default=""),
    sa.Column("last_error_at", sa.BigInteger, nullable=True),
    sa.Column("binds", sa.Integer, nullable=False, server_default="0"),
    sa.Column("window", sa.Integer, nullable=False, server_default="0"),  # its size; in_flight is in use
    sa.Column("submit_rate", sa.Float, nullable=False, server_default="0"),  # submits/s, last interval
)

# --- the operator's console ---------------------------------------------------------------------------

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),  # "admin" or "reviewer"
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id, as argon2-cffi encodes it
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)

# Tokens for the management API: only their SHA-256 is kept, the token itself is shown once.
operator_tokens = sa.Table(
    "operator_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("operator_id", sa.Integer, sa.ForeignKey("operators.id"), nullable=False, index=True),
    sa.Column("name", sa.String(64), nullable=False, server_default=""),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_used_at", sa.BigInteger, nullable=True),
)

# Every change an operator makes, from any face (console, management API, CLI).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.BigInteger, nullable=False, index=True),
    sa.Column("operator", sa.String(64), nullable=False),  # the name, kept if the operator goes
    sa.Column("via", sa.String(16), nullable=False),  # console, api, cli
    sa.Column("action", sa.String(64), nullable=False),  # e.g. "template.approve"
    sa.Column("target", sa.String(200), nullable=False, server_default=""),  # e.g. "template 12"
    sa.Column("before", sa.Text, nullable=False, server_default=""),  # JSON, secrets masked
    sa.Column("after", sa.Text, nullable=False, server_default=""),
)

# Traffic figures rolled up as messages change state, so that the dashboard and /metrics never scan
# the message table. One row per period (60: a minute, 3600: an hour, 86400: a local day) and key;
# each change adds to the three periods it falls in. Readers sum over `writer`: on PostgreSQL each
# process adds to rows of its own, so that processes committing side by side never wait for (or
# deadlock on) each other's rollup rows; on SQLite, where writers take turns, it is 0.
traffic_stats = sa.Table(
    "traffic_stats",
    metadata,
    sa.Column("period", sa.Integer, primary_key=True),
    sa.Column("start", sa.BigInteger, primary_key=True),  # unix seconds the period starts
    sa.Column("customer_id", sa.Integer, primary_key=True),
    sa.Column("carrier", sa.String(16), primary_key=True),
    sa.Column("connector", sa.String(64), primary_key=True),  # "" before a message is submitted
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("writer", sa.Integer, primary_key=True, server_default="0"),
    sa.Column("accepted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("submitted", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("delivered", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),  # every final state but delivered
)

# Latency histograms in the same periods: `metric` is "submit" (accepted → submitted) or "report"
# (submitted → final status report); `bucket` indexes a fixed list of upper bounds (store/rollups.py).
latency_stats = sa.Table(
    "latency_stats",
    metadata,
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

# Submit attempts that did not end in an acknowledged part (refused, timed out, link lost): the
# acknowledged ones are the message's parts. Written on the error path only.
submit_errors = sa.Table(
    "submit_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", MessageId, nullable=False, index=True),
    sa.Column("attempt", sa.SmallInteger, nullable=False),
    sa.Column("connector", sa.String(64), nullable=False, server_default=""),
    sa.Column("outcome", sa.String(16), nullable=False),  # retry, failed, maybe_sent
    sa.Column("error", sa.String(200), nullable=False, server_default=""),
    sa.Column("at", sa.BigInteger, nullable=False),
)

# Callback deliveries a receiver did not acknowledge, with its answer (the acknowledged one is the
# callback's done_at). Written on the error path only.
callback_errors = sa.Table(
    "callback_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("callback_id", sa.Integer, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("error", sa.String(200), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
)

# Request counters that must outlive a restart (a customer's daily requests, a caller's per-minute
# sends): one row per scope, key and window.
limit_counters = sa.Table(
    "limit_counters",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),  # e.g. "daily", "ip"
    sa.Column("key", sa.String(64), primary_key=True),  # e.g. a customer id, an address
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False, server_default="0"),
)


# The fingerprint of the secret key the database's secrets are sealed with (one row, id 1): a process
# started with another key is refused before it reads or writes a secret (store/secrets.py).
secret_key = sa.Table(
    "secret_key",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)
