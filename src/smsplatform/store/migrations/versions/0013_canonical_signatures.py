"""Signatures stored before they were kept in canonical form (invisible characters removed, NFKC) are
rewritten to it, so that a look-alike of one is refused (213) as a look-alike of a new one is.

A signature whose canonical form another sub-account already holds is left as it was: the two cannot
both hold it, and which of them may is the operator's call (the review flags it as malformed).

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

from smsplatform.domain.canonical import canonical_text

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("signature", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_accounts.c.id, _accounts.c.signature)).all()
    held = {signature for _, signature in rows}
    for account_id, signature in rows:
        canonical = canonical_text(signature)
        if canonical == signature or canonical in held:
            continue
        conn.execute(sa.update(_accounts).where(_accounts.c.id == account_id).values(signature=canonical))
        held.discard(signature)
        held.add(canonical)


def downgrade() -> None:
    """Nothing to undo: the canonical form is a signature like any other."""
