"""Migration 0013: signatures stored before the canonical form are rewritten to it, unless taken."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from smsplatform.store.database import create_engine


def migrate(url: str, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("smsplatform.store") / "migrations"))
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def test_old_look_alike_signatures_become_canonical_unless_their_form_is_taken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0012")
    stored = {
        1: "【甲公司\u200b】",  # canonical form free: rewritten
        2: "【ＡＢ公司】",  # full-width: rewritten to 【AB公司】
        3: "【丙公司】",
        4: "【丙公司\ufeff】",  # its canonical form is 3's: left for the operator
        5: "【丁公司】",  # canonical already
    }
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, appkey_hash, totalnum, created_at)"
                " VALUES (1, 'c', 'h', 10, 0)"
            )
        )
        for account_id, signature in stored.items():
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (id, customer_id, company, signature, totalnum, extension, addtime)"
                    " VALUES (:id, 1, 'c', :s, 1, :e, 0)"
                ),
                {"id": account_id, "s": signature, "e": f"{account_id:04d}"},
            )
    engine.dispose()

    migrate(url, "head")

    engine = create_engine(url)
    with engine.connect() as conn:
        after = dict(conn.execute(sa.text("SELECT id, signature FROM accounts")).all())
    engine.dispose()
    assert after == {
        1: "【甲公司】",
        2: "【AB公司】",
        3: "【丙公司】",
        4: "【丙公司\ufeff】",
        5: "【丁公司】",
    }
